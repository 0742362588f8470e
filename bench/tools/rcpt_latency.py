"""RCPT latency through Postern's recipient verification: N addresses asked twice, 15 per SMTP session.

usage: rcpt_latency.py PORT N   — prints one line per pass: name, replies seen, median and p99 in ms.
The first pass over known users finds the cache cold (each RCPT probes Dovecot's LMTP), the second warm;
then the same for addresses Dovecot does not know (550 5.1.1 after a probe, then from the cache).
"""
import smtplib
import statistics
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
BATCH = 15  # RCPTs per session: below the server's error limit, which 550s count against


def session():
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("client.bench.test")
    s.docmd("MAIL FROM:<someone@internet.bench.test>")
    return s


def run(name, addresses):
    times, codes = [], {}
    for start in range(0, len(addresses), BATCH):
        s = session()
        for a in addresses[start:start + BATCH]:
            t0 = time.perf_counter()
            code, _ = s.docmd("RCPT TO:<%s>" % a)
            times.append((time.perf_counter() - t0) * 1000)
            codes[code] = codes.get(code, 0) + 1
            times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print("%s %s %.2f %.2f" % (name, ",".join("%d:%d" % kv for kv in sorted(codes.items())), statistics.median(times), p99))


users = ["u%d@lmtp.bench.test" % i for i in range(n)]
unknown = ["x%d@lmtp.bench.test" % i for i in range(n)]
run("known-cold", users)
run("known-warm", users)
run("unknown-cold", unknown)
run("unknown-warm", unknown)
