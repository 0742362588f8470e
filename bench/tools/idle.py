#!/usr/bin/python3
"""Opens N idle SMTP connections to host:port (each reads its greeting), reports how many are open, waits
until told (a line on stdin), then closes them all. Loopback only; N is bounded by the caller."""
import socket, sys, resource

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
socks, greeted = [], 0
for i in range(n):
    s = socket.socket()
    # spread over source addresses so the server's per-address limit and ephemeral ports are not the limit
    s.bind(("127.0.%d.%d" % (10 + i // 250, 1 + i % 250), 0))
    s.connect((host, port))
    socks.append(s)
for s in socks:
    s.settimeout(30)
    if s.recv(512).startswith(b"220"):
        greeted += 1
print("open %d greeted %d" % (len(socks), greeted), flush=True)
sys.stdin.readline()
for s in socks:
    s.close()
