#!/usr/bin/python3
"""Acceptance latency under load: CLIENTS persistent SMTP connections each send messages back to back;
for every message, the time from the end of data (".") to its 250 reply. Prints rate, p50 and p99 (ms).
Loopback only; bounded by --messages."""
import asyncio, argparse, time

async def client(host, port, n, size, rcpt, lat):
    r, w = await asyncio.open_connection(host, port)
    async def reply():
        while True:
            line = await r.readline()
            if not line:
                raise ConnectionError("closed")
            if line[3:4] != b"-":
                return line
    await reply()
    w.write(b"EHLO bench.test\r\n"); await w.drain(); await reply()
    body = b"Subject: latency\r\n\r\n" + (b"x" * 78 + b"\r\n") * max(1, size // 80)
    for _ in range(n):
        w.write(b"MAIL FROM:<bench@source.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
        await w.drain()
        for _ in range(3):
            await reply()
        w.write(body + b".\r\n")
        t0 = time.perf_counter()
        await w.drain()
        line = await reply()
        if not line.startswith(b"250"):
            raise RuntimeError(line)
        lat.append(time.perf_counter() - t0)
    w.write(b"QUIT\r\n"); await w.drain(); w.close()

async def main(a):
    lat = []
    per = a.messages // a.clients
    t0 = time.perf_counter()
    await asyncio.gather(*[client(a.host, a.port, per, a.size, a.rcpt, lat) for _ in range(a.clients)])
    el = time.perf_counter() - t0
    lat.sort()
    print("rate %.0f p50_ms %.2f p99_ms %.2f" % (len(lat) / el, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000))

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1"); p.add_argument("--port", type=int, required=True)
p.add_argument("--clients", type=int, default=100); p.add_argument("--messages", type=int, default=5000)
p.add_argument("--size", type=int, default=1024); p.add_argument("--rcpt", default="user@sink.test")
asyncio.run(main(p.parse_args()))
