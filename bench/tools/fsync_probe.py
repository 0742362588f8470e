#!/usr/bin/python3
"""How fast this disk makes things durable: the two fsync patterns a mail queue can use.

1. file per message: create, write 1 KB, fsync, rename, fsync the directory (Postfix, our "files" store)
2. one log: append 1 KB and fsync (our "log" store pays this once per group of messages)
Prints operations per second for each, measured for a few seconds each, and the append's slowest 1% (p99) and
slowest one in ms: a durable acceptance cannot answer faster than its commit, so no server's p99 beats the disk's."""
import os, sys, time, tempfile

def per_file(d, seconds):
    n, t0, data = 0, time.time(), b"x" * 1024
    dfd = os.open(d, os.O_RDONLY)
    while time.time() - t0 < seconds:
        tmp, final = os.path.join(d, "t%d" % n), os.path.join(d, "f%d" % n)
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600)
        os.write(fd, data); os.fsync(fd); os.close(fd)
        os.rename(tmp, final); os.fsync(dfd)
        n += 1
    os.close(dfd)
    return n / (time.time() - t0)

def append(d, seconds):
    n, t0, data, each = 0, time.time(), b"x" * 1024, []
    fd = os.open(os.path.join(d, "log"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    while time.time() - t0 < seconds:
        a = time.perf_counter()
        os.write(fd, data); os.fdatasync(fd)
        each.append(time.perf_counter() - a)
        n += 1
    os.close(fd)
    each.sort()
    return n / (time.time() - t0), each[int(len(each) * 0.99)] * 1000, each[-1] * 1000

where = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3
with tempfile.TemporaryDirectory(dir=where) as d:
    print("file_create_fsync_rename_dirfsync_per_s %.0f" % per_file(d, secs))
with tempfile.TemporaryDirectory(dir=where) as d:
    rate, p99, worst = append(d, secs)
    print("append_fdatasync_per_s %.0f" % rate)
    print("append_fdatasync_p99_ms %.2f append_fdatasync_max_ms %.1f" % (p99, worst))
