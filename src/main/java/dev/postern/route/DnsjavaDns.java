package dev.postern.route;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ExtendedResolver;
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
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * DNS through dnsjava's asynchronous lookups, against configured servers (e.g. 127.0.0.1:5353 in tests)
 * or the system's. Answers are cached for their TTL, negative ones for 30 s (at most 10,000 questions): a
 * message can ask the same names at connect, RCPT and end of data, and every message from a busy sender
 * asks the same ones.
 *
 * <p>Inside a {@link DnsReplay} run (the receiving side's checks) no thread waits on the network; outside
 * one (routing on delivery threads, the CLI) the calling thread waits, at most the timeout. The same
 * question asked while it is outstanding is not sent again, and at most {@link #MAX_IN_FLIGHT} distinct
 * questions are outstanding at once: past that, new ones fail at once as temporary failures rather than
 * queue behind a silent server.
 */
public final class DnsjavaDns implements Dns, DnsReplay.Source {
    static final int MAX_IN_FLIGHT = 2_000;
    private static final int MAX_CACHED = 10_000;
    /**
     * Negative answers are kept briefly too: a DNSBL or DBL zone answers NXDOMAIN for nearly every client,
     * and a check that finds its answer cached runs once instead of twice. dnsjava does not hand us the
     * SOA's negative TTL (RFC 2308 5), so a short fixed time stands in for it.
     */
    private static final long NEGATIVE_TTL_SECONDS = 30;
    private static final Logger log = LoggerFactory.getLogger("postern.dns");

    /** Runs dnsjava's completion stages: short, never blocking; not the common pool, which has one thread on 2 cores. */
    private static final java.util.concurrent.ExecutorService ANSWERS = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "dns-answers");
        t.setDaemon(true);
        return t;
    });

    private record Cached(Answer<Record> answer, long expires) {}

    private final LookupSession session;
    private final Duration timeout;
    private final Map<DnsReplay.Question, CompletableFuture<Answer<Record>>> inFlight = new ConcurrentHashMap<>();
    private final Map<DnsReplay.Question, Cached> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<DnsReplay.Question, Cached> e) { return size() > MAX_CACHED; }
    };

    /** The configured servers (in order, each with the time-out), or the system's when none are. */
    static Resolver resolver(List<InetSocketAddress> servers, Duration timeout) {
        Resolver r;
        if (servers.isEmpty()) {
            r = new ExtendedResolver();
        } else {
            List<Resolver> each = new ArrayList<>();
            for (InetSocketAddress a : servers) {
                SimpleResolver one = new SimpleResolver(a);
                one.setTimeout(timeout);
                each.add(one);
            }
            r = new ExtendedResolver(each);
        }
        r.setTimeout(timeout);
        return r;
    }

    public DnsjavaDns(List<InetSocketAddress> servers, Duration timeout) {
        Resolver r = resolver(servers, timeout);
        this.timeout = timeout;
        // mail routing asks the DNS only, as Postfix's smtp_host_lookup = dns: no hosts file, no search list;
        // CNAME chains are followed (at most 16 steps); dnsjava's own cache keeps negative answers for their SOA TTL
        org.xbill.DNS.Cache negative = new org.xbill.DNS.Cache();
        negative.setMaxEntries(MAX_CACHED);
        this.session = LookupSession.builder().resolver(r).cache(negative).hostsFileParser(null).clearSearchPath()
                .maxRedirects(16).executor(ANSWERS).build();
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
        List<Answer<Record>> both = lookupBoth(host, Type.A, Type.AAAA);
        Answer<Record> v4 = both.get(0);
        Answer<Record> v6 = both.get(1);
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
        DnsReplay.Question q = new DnsReplay.Question(absolute(name), type);
        List<Answer<Record>> known = DnsReplay.answers(this, q);
        return known != null ? known.get(0) : await(q);
    }

    /** Both questions at once: inside a run they go out together rather than one pass after the other. */
    private List<Answer<Record>> lookupBoth(String name, int type1, int type2) {
        DnsReplay.Question a = new DnsReplay.Question(absolute(name), type1);
        DnsReplay.Question b = new DnsReplay.Question(absolute(name), type2);
        List<Answer<Record>> known = DnsReplay.answers(this, a, b);
        if (known != null) return known;
        CompletableFuture<Answer<Record>> fa = ask(a), fb = ask(b);
        return List.of(await(a, fa), await(b, fb));
    }

    private static String absolute(String name) {
        return (name.endsWith(".") ? name : name + ".").toLowerCase(java.util.Locale.ROOT);
    }

    private Answer<Record> await(DnsReplay.Question q) { return await(q, ask(q)); }

    private Answer<Record> await(DnsReplay.Question q, CompletableFuture<Answer<Record>> f) {
        try {
            return f.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Answer.failed(Status.TEMPFAIL, q.name() + ": interrupted");
        } catch (ExecutionException | TimeoutException e) {
            return Answer.failed(Status.TEMPFAIL, q.name() + ": timed out");
        }
    }

    @Override public Answer<Record> cached(DnsReplay.Question q) {
        synchronized (cache) {
            Cached c = cache.get(q);
            if (c == null) return null;
            if (c.expires() - System.nanoTime() > 0) return c.answer();
            cache.remove(q);
            return null;
        }
    }

    @Override public CompletableFuture<Answer<Record>> ask(DnsReplay.Question q) {
        Answer<Record> hit = cached(q);
        if (hit != null) return CompletableFuture.completedFuture(hit);
        CompletableFuture<Answer<Record>> running = inFlight.get(q);
        if (running != null) return running;
        if (inFlight.size() >= MAX_IN_FLIGHT) {
            log.warn("{} DNS questions outstanding; {} {} fails at once", inFlight.size(), q.name(), Type.string(q.type()));
            return CompletableFuture.completedFuture(Answer.failed(Status.TEMPFAIL, q.name() + ": too many DNS questions outstanding"));
        }
        CompletableFuture<Answer<Record>> mine = new CompletableFuture<>();
        running = inFlight.putIfAbsent(q, mine);
        if (running != null) return running;
        Name name;
        try {
            name = Name.fromString(q.name());
        } catch (TextParseException e) {
            inFlight.remove(q);
            mine.complete(Answer.failed(Status.NXDOMAIN, "bad name " + q.name()));
            return mine;
        }
        session.lookupAsync(name, q.type()).toCompletableFuture()
                .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .handle((result, t) -> t == null ? answer(q, result) : remember(q, failure(q, t)))
                .thenAccept(a -> {
                    inFlight.remove(q, mine);
                    mine.complete(a);
                });
        return mine;
    }

    private Answer<Record> answer(DnsReplay.Question q, LookupResult result) {
        List<Record> records = result.getRecords();
        if (records.isEmpty()) return Answer.failed(Status.NODATA, q.name() + ": no records");
        return keep(q, Answer.of(records), records.stream().mapToLong(Record::getTTL).min().orElse(0));
    }

    /** Negative answers are kept NEGATIVE_TTL_SECONDS; temporary failures are never kept. */
    private Answer<Record> remember(DnsReplay.Question q, Answer<Record> a) {
        return a.status() == Status.NXDOMAIN || a.status() == Status.NODATA ? keep(q, a, NEGATIVE_TTL_SECONDS) : a;
    }

    private Answer<Record> keep(DnsReplay.Question q, Answer<Record> a, long ttlSeconds) {
        if (ttlSeconds > 0) {
            synchronized (cache) {
                cache.put(q, new Cached(a, System.nanoTime() + TimeUnit.SECONDS.toNanos(ttlSeconds)));
            }
        }
        return a;
    }

    private static Answer<Record> failure(DnsReplay.Question q, Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof NoSuchDomainException) return Answer.failed(Status.NXDOMAIN, q.name() + ": host not found");
        if (cause instanceof NoSuchRRSetException) return Answer.failed(Status.NODATA, q.name() + ": type not found");
        if (cause instanceof TimeoutException) return Answer.failed(Status.TEMPFAIL, q.name() + ": timed out");
        return Answer.failed(Status.TEMPFAIL, q.name() + ": " + cause.getMessage());
    }
}
