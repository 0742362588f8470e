#!/usr/bin/python3
"""Where one client's time goes: sends N messages, one connection each (as smtp-source does), and prints the
median and mean of every step as the client sees it (connect to 220, EHLO, MAIL, RCPT, DATA, body to 250,
QUIT). The first fifth is left out as warm-up. Loopback only.

    bench/tools/steps.py SIZE COUNT [RCPT] [HOST] [PORT]
    bench/tools/steps.py 51200 2000 user@sink.test 127.0.0.1 2525
"""
import socket
import statistics
import sys
import time

size, count = int(sys.argv[1]), int(sys.argv[2])
rcpt = sys.argv[3] if len(sys.argv) > 3 else "user@sink.test"
host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
port = int(sys.argv[5]) if len(sys.argv) > 5 else 2525
if not host.startswith("127.") and host != "::1":
    sys.exit("loopback only")
body = ("Subject: steps\r\n\r\n" + ("x" * 78 + "\r\n") * max(1, size // 80)).encode()
steps = {k: [] for k in ["connect+220", "EHLO", "MAIL", "RCPT", "DATA", "body->250", "QUIT", "total"]}


def reply(f):
    while True:
        line = f.readline()
        if len(line) < 4 or line[3:4] != b"-":
            return line


for _ in range(count):
    t0 = time.perf_counter()
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    reply(f)
    steps["connect+220"].append(time.perf_counter() - t0)
    for name, cmd in [("EHLO", b"EHLO steps.test\r\n"), ("MAIL", b"MAIL FROM:<steps@source.test>\r\n"),
                      ("RCPT", ("RCPT TO:<%s>\r\n" % rcpt).encode()), ("DATA", b"DATA\r\n")]:
        a = time.perf_counter()
        s.sendall(cmd)
        reply(f)
        steps[name].append(time.perf_counter() - a)
    a = time.perf_counter()
    s.sendall(body + b".\r\n")
    reply(f)
    steps["body->250"].append(time.perf_counter() - a)
    a = time.perf_counter()
    s.sendall(b"QUIT\r\n")
    reply(f)
    s.close()
    steps["QUIT"].append(time.perf_counter() - a)
    steps["total"].append(time.perf_counter() - t0)

for name, v in steps.items():
    v = v[count // 5:]
    print("%-12s p50 %8.1f us  mean %8.1f us" % (name, statistics.median(v) * 1e6, statistics.mean(v) * 1e6))
