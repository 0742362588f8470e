"""An independent DKIM implementation (Debian python3-dkim, i.e. dkimpy, the library behind dkimverify/dkimsign)
for the DKIM interop tests. Keys are looked up on the test's loopback DNS server.
  verify DNS_PORT < message          prints "pass" or "fail" for each DKIM-Signature, top first
  sign SELECTOR DOMAIN KEYFILE ALGO [HEADER/BODY] < message   prints the signed message (ALGO rsa-sha256 or
      ed25519-sha256; canonicalization relaxed/simple unless given)
  arcsign SELECTOR DOMAIN KEYFILE SRV_ID < message   prints the message with a new ARC set (it needs an
      Authentication-Results field of SRV_ID)
  arcverify DNS_PORT < message       prints the chain validation status: pass, fail or none"""
import re
import sys
import dns.resolver
import dkim

cmd = sys.argv[1]
msg = sys.stdin.buffer.read()
if cmd in ("verify", "arcverify"):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = int(sys.argv[2])
    dns.resolver.default_resolver = r
if cmd == "arcverify":
    cv, results, reason = dkim.arc_verify(msg)
    print((cv or b"none").decode(), reason, flush=True)
elif cmd == "arcsign":
    selector, domain, keyfile, srv_id = sys.argv[2:6]
    key = open(keyfile, "rb").read()
    sets = dkim.arc_sign(msg, selector.encode(), domain.encode(), key, srv_id.encode(),
                         include_headers=[b"from", b"to", b"subject", b"date"])
    sys.stdout.buffer.write(b"".join(sets) + msg)
elif cmd == "verify":
    count = len(re.findall(rb"(?mi)^DKIM-Signature:", msg.split(b"\r\n\r\n", 1)[0]))
    d = dkim.DKIM(msg)
    for i in range(count):
        print("pass" if d.verify(idx=i) else "fail", flush=True)
elif cmd == "sign":
    selector, domain, keyfile, algo = sys.argv[2:6]
    header_c, body_c = (sys.argv[6] if len(sys.argv) > 6 else "relaxed/simple").split("/")
    key = open(keyfile, "rb").read()
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key, canonicalize=(header_c.encode(), body_c.encode()),
                    signature_algorithm=algo.encode(), include_headers=[b"from", b"to", b"subject", b"date"])
    sys.stdout.buffer.write(sig + msg)
