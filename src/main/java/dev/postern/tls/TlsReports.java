package dev.postern.tls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.store.StateFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;

/**
 * TLS-RPT (RFC 8460): counts outbound TLS sessions per UTC day, policy domain and policy, successes and
 * failures with their result type, MX host and address. Counts are kept in memory and written to
 * {@code DAY.tsv} (versioned) every minute and at shutdown, so a restart loses at most a minute;
 * {@link #report} turns a finished day into the RFC's JSON reports.
 */
public final class TlsReports {
    private static final Logger log = LoggerFactory.getLogger("postern.tlsrpt");
    static final String FORMAT = "postern-tlsrpt 1";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** RFC 8460 4.3 policy types. */
    public enum PolicyType {
        STS("sts"), TLSA("tlsa"), NONE("no-policy-found");
        final String wire;

        PolicyType(String wire) { this.wire = wire; }
    }

    /**
     * One counter: the day, the policy (domain, type, its text lines, MX patterns), and for failures the
     * result type, the MX host and its address ("" for successes).
     */
    record Key(LocalDate day, String domain, PolicyType type, String policy, String result, String mxHost, String ip) {
        String line(long count) {
            return String.join("\t", day.toString(), domain, type.name(), escape(policy), result, mxHost, ip, Long.toString(count));
        }
    }

    private final Path dir;
    private final Clock clock;
    private final Map<Key, AtomicLong> counts = new ConcurrentHashMap<>();

    public TlsReports(Path dir, Clock clock) throws IOException {
        this.dir = dir;
        this.clock = clock;
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        for (LocalDate d : List.of(today.minusDays(1), today)) {
            for (Map.Entry<Key, Long> e : read(dir, d).entrySet()) counts.put(e.getKey(), new AtomicLong(e.getValue()));
        }
    }

    /** A session that met its policy. policy: the policy's text (STS) or "" (no policy). */
    public void success(String domain, PolicyType type, String policy) {
        count(new Key(today(), domain, type, policy, "", "", ""));
    }

    /** A session that failed its policy (RFC 8460 4.3 result types: certificate-expired, starttls-not-supported, ...). */
    public void failure(String domain, PolicyType type, String policy, String resultType, String mxHost, String ip) {
        count(new Key(today(), domain, type, policy, resultType, mxHost, ip));
    }

    private void count(Key k) { counts.computeIfAbsent(k, x -> new AtomicLong()).incrementAndGet(); }

    private LocalDate today() { return LocalDate.now(clock.withZone(ZoneOffset.UTC)); }

    /** Writes today's and yesterday's counts (temporary file, fsync, rename); older days are dropped from memory. */
    public synchronized void save() {
        LocalDate today = today();
        counts.keySet().removeIf(k -> k.day().isBefore(today.minusDays(1)));
        for (LocalDate d : List.of(today.minusDays(1), today)) {
            List<String> lines = new ArrayList<>();
            counts.forEach((k, v) -> { if (k.day().equals(d)) lines.add(k.line(v.get())); });
            if (lines.isEmpty()) continue;
            java.util.Collections.sort(lines); // the same counts, the same file (and report order)
            try {
                StateFiles.writeVersioned(dir.resolve(d + ".tsv"), FORMAT, lines);
            } catch (IOException e) {
                log.warn("cannot save TLS-RPT counts for {}: {}", d, e.toString());
            }
        }
    }

    /** A day's counts as written; a file of another version is refused, never read in part. */
    static Map<Key, Long> read(Path dir, LocalDate day) throws IOException {
        Path f = dir.resolve(day + ".tsv");
        Map<Key, Long> out = new LinkedHashMap<>();
        List<String> lines = StateFiles.readVersioned(f, FORMAT, null);
        for (int i = 0; i < lines.size(); i++) {
            String[] c = lines.get(i).split("\t", -1);
            if (c.length != 8) throw new IOException(f + ":" + (i + 2) + ": malformed line");
            out.put(new Key(LocalDate.parse(c[0]), c[1], PolicyType.valueOf(c[2]), unescape(c[3]), c[4], c[5], c[6]), Long.parseLong(c[7]));
        }
        return out;
    }

    /** One finished report: the policy domain, its RFC 8460 5.3 file name and the gzipped JSON. */
    public record Report(String domain, String reportId, String fileName, byte[] gzipped) {}

    /**
     * RFC 8460 4: one JSON report per policy domain for the day, gzipped, named
     * {@code sender!policy-domain!begin!end.json.gz} (5.3); returns the files written.
     */
    public static List<Path> report(Path dir, LocalDate day, String organization, String contact, Path out) throws IOException {
        Files.createDirectories(out);
        List<Path> written = new ArrayList<>();
        for (Report r : reports(dir, day, organization, contact)) {
            Path file = out.resolve(r.fileName());
            Files.write(file, r.gzipped());
            written.add(file);
        }
        return written;
    }

    /** The day's reports, one per policy domain, in memory. */
    public static List<Report> reports(Path dir, LocalDate day, String organization, String contact) throws IOException {
        Map<String, Map<String, List<Map.Entry<Key, Long>>>> byDomain = new TreeMap<>();
        for (Map.Entry<Key, Long> e : read(dir, day).entrySet()) {
            Key k = e.getKey();
            byDomain.computeIfAbsent(k.domain(), d -> new LinkedHashMap<>()).computeIfAbsent(k.type() + "\n" + k.policy(), p -> new ArrayList<>()).add(e);
        }
        List<Report> reports = new ArrayList<>();
        long begin = day.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        long end = day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        for (var d : byDomain.entrySet()) {
            ObjectNode r = JSON.createObjectNode();
            String reportId = day + "_" + d.getKey() + "@" + organization;
            r.put("organization-name", organization);
            ObjectNode range = r.putObject("date-range");
            range.put("start-datetime", day + "T00:00:00Z");
            range.put("end-datetime", day.plusDays(1) + "T00:00:00Z");
            r.put("contact-info", contact);
            r.put("report-id", reportId);
            ArrayNode policies = r.putArray("policies");
            for (var p : d.getValue().entrySet()) policies.add(policy(d.getKey(), p.getValue()));
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (OutputStream o = new GZIPOutputStream(bytes)) {
                JSON.writerWithDefaultPrettyPrinter().writeValue(o, r);
            }
            reports.add(new Report(d.getKey(), reportId, organization + "!" + d.getKey() + "!" + begin + "!" + end + ".json.gz", bytes.toByteArray()));
        }
        return reports;
    }

    private static ObjectNode policy(String domain, List<Map.Entry<Key, Long>> rows) {
        Key first = rows.get(0).getKey();
        ObjectNode entry = JSON.createObjectNode();
        ObjectNode policy = entry.putObject("policy");
        policy.put("policy-type", first.type().wire);
        if (!first.policy().isEmpty()) {
            ArrayNode lines = policy.putArray("policy-string");
            for (String l : first.policy().split("\r?\n")) if (!l.isEmpty()) lines.add(l);
            ArrayNode mx = policy.putArray("mx-host");
            for (String l : first.policy().split("\r?\n")) if (l.startsWith("mx:")) mx.add(l.substring(3).trim());
        }
        policy.put("policy-domain", domain);
        long ok = 0, failed = 0;
        ArrayNode details = JSON.createArrayNode();
        for (Map.Entry<Key, Long> e : rows) {
            Key k = e.getKey();
            if (k.result().isEmpty()) {
                ok += e.getValue();
                continue;
            }
            failed += e.getValue();
            ObjectNode f = details.addObject();
            f.put("result-type", k.result());
            if (!k.ip().isEmpty()) f.put("receiving-ip", k.ip());
            if (!k.mxHost().isEmpty()) f.put("receiving-mx-hostname", k.mxHost());
            f.put("failed-session-count", e.getValue());
        }
        ObjectNode summary = entry.putObject("summary");
        summary.put("total-successful-session-count", ok);
        summary.put("total-failure-session-count", failed);
        if (!details.isEmpty()) entry.set("failure-details", details);
        return entry;
    }

    private static String escape(String s) { return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"); }

    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                sb.append(n == 't' ? '\t' : n == 'r' ? '\r' : n == 'n' ? '\n' : n);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
