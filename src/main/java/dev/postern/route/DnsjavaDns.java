package dev.postern.route;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * DNS through dnsjava, against configured servers (e.g. 127.0.0.1:5353 in tests) or the system's.
 * Answers are cached for their TTL (dnsjava's cache, at most 10,000 names): a message can ask the same
 * names at connect, RCPT and end of data, and every message from a busy sender asks the same ones.
 */
public final class DnsjavaDns implements Dns {
    private final Resolver resolver;
    private final Cache cache = new Cache();

    public DnsjavaDns(List<InetSocketAddress> servers, Duration timeout) {
        Resolver r;
        if (servers.isEmpty()) {
            r = new ExtendedResolver();
        } else {
            List<Resolver> each = new ArrayList<>();
            for (InetSocketAddress a : servers) each.add(new SimpleResolver(a));
            r = new ExtendedResolver(each);
        }
        r.setTimeout(timeout);
        this.resolver = r;
        cache.setMaxEntries(10_000);
    }

    @Override public Answer<Mx> mx(String domain) {
        Answer<Record> a = lookup(domain, Type.MX);
        if (a.status() != Status.OK) return Answer.failed(a.status(), a.detail());
        List<Mx> out = new ArrayList<>();
        for (Record r : a.values()) {
            MXRecord mx = (MXRecord) r;
            out.add(new Mx(mx.getPriority(), mx.getTarget().toString(true).toLowerCase()));
        }
        return Answer.of(out);
    }

    @Override public Answer<InetAddress> addresses(String host) {
        Answer<Record> v4 = lookup(host, Type.A);
        Answer<Record> v6 = lookup(host, Type.AAAA);
        List<InetAddress> out = new ArrayList<>();
        for (Record r : v4.values()) out.add(((ARecord) r).getAddress());
        for (Record r : v6.values()) out.add(((AAAARecord) r).getAddress());
        if (!out.isEmpty()) return Answer.of(out);
        if (v4.status() == Status.TEMPFAIL || v6.status() == Status.TEMPFAIL) return Answer.failed(Status.TEMPFAIL, v4.detail());
        if (v4.status() == Status.NXDOMAIN) return Answer.failed(Status.NXDOMAIN, v4.detail());
        return Answer.failed(Status.NODATA, "no A or AAAA records for " + host);
    }

    @Override public Answer<String> txt(String name) {
        Answer<Record> a = lookup(name, Type.TXT);
        if (a.status() != Status.OK) return Answer.failed(a.status(), a.detail());
        List<String> out = new ArrayList<>();
        for (Record r : a.values()) {
            if (!(r instanceof TXTRecord t)) continue; // a CNAME in the chain
            StringBuilder joined = new StringBuilder();
            for (byte[] part : t.getStringsAsByteArrays()) joined.append(new String(part, java.nio.charset.StandardCharsets.UTF_8));
            out.add(joined.toString());
        }
        return out.isEmpty() ? Answer.failed(Status.NODATA, "no TXT records for " + name) : Answer.of(out);
    }

    @Override public Answer<String> ptr(InetAddress address) {
        Answer<Record> a = lookup(ReverseMap.fromAddress(address).toString(), Type.PTR);
        if (a.status() != Status.OK) return Answer.failed(a.status(), a.detail());
        List<String> out = new ArrayList<>();
        for (Record r : a.values()) out.add(((PTRRecord) r).getTarget().toString(true).toLowerCase());
        return Answer.of(out);
    }

    private Answer<Record> lookup(String name, int type) {
        Lookup l;
        try {
            l = new Lookup(Name.fromString(name.endsWith(".") ? name : name + "."), type);
        } catch (TextParseException e) {
            return Answer.failed(Status.NXDOMAIN, "bad name " + name);
        }
        l.setResolver(resolver);
        l.setCache(cache);
        l.setHostsFileParser(null); // mail routing asks the DNS only, as Postfix's smtp_host_lookup = dns
        l.setSearchPath((Name[]) null);
        Record[] records = l.run(); // follows CNAME chains, at most 16 steps (dnsjava's bound)
        return switch (l.getResult()) {
            case Lookup.SUCCESSFUL -> Answer.of(List.of(records));
            case Lookup.HOST_NOT_FOUND -> Answer.failed(Status.NXDOMAIN, name + ": " + l.getErrorString());
            case Lookup.TYPE_NOT_FOUND -> Answer.failed(Status.NODATA, name + ": " + l.getErrorString());
            default -> Answer.failed(Status.TEMPFAIL, name + ": " + l.getErrorString());
        };
    }
}
