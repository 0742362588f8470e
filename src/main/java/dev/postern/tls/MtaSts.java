package dev.postern.tls;

import dev.postern.route.Dns;
import dev.postern.store.StateFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MTA-STS for sending (RFC 8461): the _mta-sts TXT record says a domain has a policy and its id; the policy
 * comes over HTTPS from mta-sts.DOMAIN (certificate checked, no redirects, at most 64 KiB, bounded in time)
 * and is kept for its max_age, in memory and in a file that survives restarts; a new id in the TXT record
 * fetches it again. A failed fetch keeps the policy already held (RFC 8461 5.1).
 */
public final class MtaSts {
    private static final Logger log = LoggerFactory.getLogger("postern.mta-sts");
    static final String FORMAT = "postern-mta-sts 1";
    private static final int MAX_POLICY_BYTES = 64 * 1024; // RFC 8461 3.3: senders may refuse larger ones
    private static final Pattern TXT = Pattern.compile("v=STSv1\\s*;(?:.*;)?\\s*id=([A-Za-z0-9]{1,32})\\s*(?:;.*)?");

    /** A policy held for a domain: the TXT id it came with, its text, and when it was fetched. */
    record Held(String id, String text, MtaStsPolicy policy, long fetchedMillis) {
        boolean fresh(long now) { return now < fetchedMillis + policy.maxAgeSeconds() * 1000; }
    }

    private final Dns dns;
    private final SSLContext https;
    private final int port;
    private final Duration timeout;
    private final Clock clock;
    private final Path file;
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    /** Domains whose policy could not be fetched, and until when not to try again (no fetch per delivery). */
    private final Map<String, Long> failedUntil = new ConcurrentHashMap<>();
    private static final long RETRY_FAILED_FETCH_MILLIS = 5 * 60_000;
    /** Where fetch failures are counted (RFC 8460 sts-* result types); null = not counted. */
    private volatile TlsReports reports;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    /**
     * @param https   trusts the CAs that verify peers (the system's, or tls_ca_file)
     * @param port    443; another only for tests and proxies
     * @param file    where policies survive restarts; null = memory only
     */
    public MtaSts(Dns dns, SSLContext https, int port, Duration timeout, Clock clock, Path file) throws IOException {
        this.dns = dns;
        this.https = https;
        this.port = port;
        this.timeout = timeout;
        this.clock = clock;
        this.file = file;
        if (file != null) load();
    }

    /** Counts policy fetch failures in these TLS reports. */
    public void reportTo(TlsReports r) { this.reports = r; }

    /** The policy in force for mail to this domain, or null when it has none (or none could ever be fetched). */
    public MtaStsPolicy policyFor(String domain) {
        synchronized (locks.computeIfAbsent(domain, d -> new Object())) {
            long now = clock.millis();
            Held h = held.get(domain);
            Dns.Answer<String> txt = dns.txt("_mta-sts." + domain);
            String id = null;
            if (txt.status() == Dns.Status.OK) {
                List<String> ids = new ArrayList<>();
                for (String record : txt.values()) {
                    if (!record.startsWith("v=STSv1")) continue;
                    Matcher m = TXT.matcher(record);
                    ids.add(m.matches() ? m.group(1) : "");
                }
                if (ids.size() == 1 && !ids.get(0).isEmpty()) id = ids.get(0); // RFC 8461 3.1: exactly one valid record
            }
            if (h != null && h.fresh(now) && (id == null || id.equals(h.id()))) return h.policy(); // 5.1: keep using it
            if (id == null) return h != null && h.fresh(now) ? h.policy() : null;
            Long wait = failedUntil.get(domain);
            if (wait != null && wait > now) return h != null && h.fresh(now) ? h.policy() : null;
            try {
                String text = fetch(domain);
                MtaStsPolicy p = MtaStsPolicy.parse(text);
                held.put(domain, new Held(id, text, p, now));
                failedUntil.remove(domain);
                save();
                log.info("{}: MTA-STS policy id {} fetched: mode {}, mx {}, max_age {}", domain, id, p.mode().name().toLowerCase(Locale.ROOT),
                        p.mx(), p.maxAgeSeconds());
                return p;
            } catch (IOException | IllegalArgumentException e) {
                log.warn("{}: cannot fetch the MTA-STS policy (id {}): {}; next try in 5 minutes", domain, id, e.getMessage());
                failedUntil.put(domain, now + RETRY_FAILED_FETCH_MILLIS);
                TlsReports r = reports;
                if (r != null) r.failure(domain, TlsReports.PolicyType.STS, "", resultType(e), "mta-sts." + domain, "");
                return h != null && h.fresh(now) ? h.policy() : null;
            }
        }
    }

    /** RFC 8460 4.3: why a policy could not be had. */
    private static String resultType(Exception e) {
        if (e instanceof IllegalArgumentException) return "sts-policy-invalid";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLHandshakeException || t instanceof java.security.cert.CertificateException) return "sts-webpki-invalid";
        }
        return "sts-policy-fetch-error";
    }

    /** RFC 8461 3.3: GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt; 200 with text/plain only, no redirects. */
    public String fetch(String domain) throws IOException {
        String host = "mta-sts." + domain;
        Dns.Answer<InetAddress> a = dns.addresses(host);
        if (a.status() != Dns.Status.OK) throw new IOException(host + ": no address (" + a.status() + ")");
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        for (InetAddress addr : a.values()) {
            try (Socket plain = new Socket()) {
                plain.connect(new InetSocketAddress(addr, port), (int) timeout.toMillis());
                plain.setSoTimeout((int) timeout.toMillis());
                try (SSLSocket s = (SSLSocket) https.getSocketFactory().createSocket(plain, host, port, true)) {
                    SSLParameters params = s.getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name mta-sts.DOMAIN
                    params.setServerNames(List.of(new SNIHostName(host)));
                    s.setSSLParameters(params);
                    s.startHandshake();
                    s.getOutputStream().write(("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    return readResponse(s.getInputStream(), deadline);
                }
            } catch (IOException e) {
                last = e;
            }
        }
        throw last != null ? last : new IOException(host + ": no address");
    }

    private static String readResponse(InputStream in, long deadline) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
            all.write(buf, 0, n);
            if (all.size() > MAX_POLICY_BYTES + 8192) throw new IOException("policy larger than " + MAX_POLICY_BYTES + " bytes");
            if (System.nanoTime() > deadline) throw new IOException("policy fetch took too long");
        }
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) throw new IOException("incomplete HTTP response");
        String[] head = text.substring(0, end).split("\r\n");
        if (!head[0].matches("HTTP/1\\.[01] 200( .*)?")) throw new IOException("HTTP status " + head[0] + " (redirects are not followed)");
        boolean plain = false;
        for (int i = 1; i < head.length; i++) {
            String h = head[i].toLowerCase(Locale.ROOT);
            if (h.startsWith("content-type:") && h.substring(13).trim().startsWith("text/plain")) plain = true;
        }
        if (!plain) throw new IOException("Content-Type is not text/plain");
        byte[] body = text.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
        if (body.length > MAX_POLICY_BYTES) throw new IOException("policy larger than " + MAX_POLICY_BYTES + " bytes");
        return new String(body, StandardCharsets.UTF_8);
    }

    private void load() throws IOException {
        List<String> lines = StateFiles.readVersioned(file, FORMAT, "remove the file to fetch the policies afresh");
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t");
            if (f.length != 4) throw new IOException(file + ":" + (i + 2) + ": malformed entry");
            String text = new String(Base64.getDecoder().decode(f[3]), StandardCharsets.UTF_8);
            held.put(f[0], new Held(f[1], text, MtaStsPolicy.parse(text), Long.parseLong(f[2])));
        }
    }

    private synchronized void save() {
        if (file == null) return;
        List<String> lines = new ArrayList<>();
        long now = clock.millis();
        held.forEach((d, h) -> {
            if (h.fresh(now)) {
                lines.add(d + "\t" + h.id() + "\t" + h.fetchedMillis() + "\t"
                        + Base64.getEncoder().encodeToString(h.text().getBytes(StandardCharsets.UTF_8)));
            }
        });
        try {
            StateFiles.writeVersioned(file, FORMAT, lines);
        } catch (IOException e) {
            log.warn("cannot save MTA-STS policies to {}: {}", file, e.toString());
        }
    }
}
