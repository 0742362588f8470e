package dev.postern.route;

import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.dnssec.ValidatingResolver;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * DNSSEC-validated answers, for DANE (RFC 7672), which may trust a TLSA record only when the answer is proven
 * authentic. Validation happens here, in process (dnsjava's validating resolver from the trust anchors down),
 * rather than by trusting the AD bit of the configured resolver: that bit is only as good as the resolver
 * and the path to it, and a resolver that does not validate would silently switch DANE off. The resolvers
 * asked are [delivery] dns_servers (or the system's); they only need to pass DNSSEC records through.
 *
 * <p>Answers are kept for their TTL (at most an hour); bogus answers and failures for a minute.
 */
public final class ValidatedDns {
    /** RFC 4035 4.3's states, and a lookup that could not be completed. */
    public enum Security { SECURE, INSECURE, BOGUS, TEMPFAIL }

    /** The records of the asked type (empty for NODATA and NXDOMAIN), how far they can be trusted, and why not. */
    public record Answer(Security security, List<Record> records, String detail) {}

    /** The root zone's key-signing keys (KSK-2017 and KSK-2024), as IANA publishes them. */
    static final String ROOT_ANCHORS = """
            . IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
            . IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
            """;
    private static final int MAX_CACHED = 10_000;
    private static final long MAX_TTL_SECONDS = 3600;
    private static final long FAILURE_TTL_SECONDS = 60;

    private record Key(String name, int type) {}

    private record Cached(Answer answer, long expires) {}

    private final ValidatingResolver resolver;
    private final Duration timeout;
    private final Map<Key, Cached> cache = new LinkedHashMap<>(256, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<Key, Cached> e) { return size() > MAX_CACHED; }
    };

    /** trustAnchors: a file of DS or DNSKEY records in master-file form, or null for the root's. */
    public ValidatedDns(List<InetSocketAddress> servers, Duration timeout, Path trustAnchors) throws IOException {
        this.timeout = timeout;
        this.resolver = new ValidatingResolver(DnsjavaDns.resolver(servers, timeout));
        resolver.setTimeout(timeout);
        try (InputStream in = trustAnchors == null ? new ByteArrayInputStream(ROOT_ANCHORS.getBytes(StandardCharsets.US_ASCII))
                : Files.newInputStream(trustAnchors)) {
            resolver.loadTrustAnchors(in);
        }
        if (resolver.getTrustAnchors().items().isEmpty()) {
            throw new IOException((trustAnchors == null ? "the built-in root anchors" : trustAnchors) + " hold no DS or DNSKEY record");
        }
    }

    /** The records of one type at one name, validated; the calling thread waits (at most the timeout). */
    public Answer query(String name, int type) {
        Key key = new Key(name.endsWith(".") ? name : name + ".", type);
        synchronized (cache) {
            Cached c = cache.get(key);
            if (c != null && c.expires() - System.nanoTime() > 0) return c.answer();
        }
        Answer a = ask(key);
        long ttl = a.security() == Security.SECURE || a.security() == Security.INSECURE
                ? Math.min(MAX_TTL_SECONDS, a.records().stream().mapToLong(Record::getTTL).min().orElse(FAILURE_TTL_SECONDS))
                : FAILURE_TTL_SECONDS;
        if (ttl > 0) {
            synchronized (cache) {
                cache.put(key, new Cached(a, System.nanoTime() + TimeUnit.SECONDS.toNanos(ttl)));
            }
        }
        return a;
    }

    private Answer ask(Key key) {
        Message reply;
        try {
            Message q = Message.newQuery(Record.newRecord(Name.fromString(key.name()), key.type(), DClass.IN));
            reply = resolver.sendAsync(q).toCompletableFuture().get(timeout.toMillis() * 3, TimeUnit.MILLISECONDS);
        } catch (TextParseException e) {
            return new Answer(Security.BOGUS, List.of(), "bad name " + key.name());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(Security.TEMPFAIL, List.of(), key.name() + ": interrupted");
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return new Answer(Security.TEMPFAIL, List.of(), key.name() + ": " + cause);
        }
        int rcode = reply.getRcode();
        if (rcode == Rcode.SERVFAIL) {
            String why = reason(reply);
            // the validator answers SERVFAIL with its reason when the answer failed validation
            return why != null ? new Answer(Security.BOGUS, List.of(), key.name() + ": DNSSEC validation failed: " + why)
                    : new Answer(Security.TEMPFAIL, List.of(), key.name() + ": server failure");
        }
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            return new Answer(Security.TEMPFAIL, List.of(), key.name() + ": " + Rcode.string(rcode));
        }
        Security s = reply.getHeader().getFlag(Flags.AD) ? Security.SECURE : Security.INSECURE;
        List<Record> out = new ArrayList<>();
        for (Record r : reply.getSection(Section.ANSWER)) if (r.getType() == key.type()) out.add(r);
        return new Answer(s, List.copyOf(out), rcode == Rcode.NXDOMAIN ? key.name() + ": no such name" : null);
    }

    private static String reason(Message reply) {
        for (Record r : reply.getSection(Section.ADDITIONAL)) {
            if (r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS) return r.rdataToString();
        }
        var opt = reply.getOPT();
        if (opt != null) {
            for (var o : opt.getOptions()) if (o instanceof org.xbill.DNS.ExtendedErrorCodeOption ede) return ede.getText() == null ? "EDE " + ede.getErrorCode() : ede.getText();
        }
        return null;
    }
}
