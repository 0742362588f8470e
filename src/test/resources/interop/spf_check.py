"""Independent SPF results (Debian python3-spf) for SpfTest: reads "ip sender helo" lines, prints one result each.
Usage: /usr/bin/python3 spf_check.py DNS_PORT < cases"""
import sys
import dns.resolver
import spf

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = int(sys.argv[1])
dns.resolver.default_resolver = resolver

for line in sys.stdin:
    ip, sender, helo = line.split()
    if sender == "<>":
        sender = ""
    result, _ = spf.check2(i=ip, s=sender, h=helo, timeout=5)
    print(result, flush=True)
