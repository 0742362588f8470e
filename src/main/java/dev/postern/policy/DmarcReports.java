package dev.postern.policy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * Records what RFC 7489 7.2 aggregate reports need, one JSON line per evaluated message in
 * data_dir/dmarc/YYYY-MM-DD.jsonl (UTC days), so reports can be generated later. Best effort: not fsync'd.
 */
public final class DmarcReports {
    private static final Logger log = LoggerFactory.getLogger("postern.dmarc");

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final Path dir;
    private final Clock clock;
    /** A cluster's shared rows (null: this node's files); written off the calling thread, best effort as the file. */
    private final PolicyState shared;
    private final java.util.concurrent.ExecutorService writer;

    public DmarcReports(Path dir, Clock clock) {
        this(dir, clock, null);
    }

    public DmarcReports(Path dir, Clock clock, PolicyState shared) {
        this.dir = dir;
        this.clock = clock;
        this.shared = shared;
        this.writer = shared == null ? null : java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dmarc-rows");
            t.setDaemon(true);
            return t;
        });
    }

    /** A day's recorded rows (every node's, in a cluster), or null when nothing was recorded. */
    public List<String> rows(LocalDate day) throws IOException {
        if (shared != null) {
            List<String> rows = shared.dmarcRows(day);
            return rows.isEmpty() ? null : rows;
        }
        Path file = dir.resolve(day + ".jsonl");
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : null;
    }

    /** Where the rows are kept, for messages. */
    public String where(LocalDate day) { return shared != null ? "the cluster database" : dir.resolve(day + ".jsonl").toString(); }

    /** The cluster's state, when the rows are shared (the report sender claims each day there). */
    public PolicyState shared() { return shared; }

    /** One row: the source, the identifiers, the evaluated results and the disposition applied. */
    public synchronized void record(String sourceIp, Dmarc.Evaluation e, String envelopeFrom, Spf.Outcome spf,
                                    List<Map.Entry<String, String>> dkim, String disposition) {
        if (e.result() == Dmarc.Result.NONE) return; // no policy, nobody to report to
        java.time.Instant now = clock.instant();
        var row = JSON.createObjectNode()
                .put("time", now.toString())
                .put("source_ip", sourceIp)
                .put("header_from", e.fromDomain())
                .put("policy_domain", e.policyDomain())
                .put("envelope_from", envelopeFrom == null ? "" : envelopeFrom)
                .put("p", e.record().getOrDefault("p", ""))
                .put("sp", e.record().getOrDefault("sp", ""))
                .put("pct", e.record().getOrDefault("pct", "100"))
                .put("adkim", e.record().getOrDefault("adkim", "r"))
                .put("aspf", e.record().getOrDefault("aspf", "r"))
                .put("rua", e.record().getOrDefault("rua", ""))
                .put("dmarc", e.result().name().toLowerCase())
                .put("disposition", disposition)
                .put("dkim_aligned", e.dkimAligned() ? "pass" : "fail")
                .put("spf_aligned", e.spfAligned() ? "pass" : "fail")
                .put("spf_domain", spf == null || spf.domain() == null ? "" : spf.domain())
                .put("spf", spf == null ? "none" : spf.result().label());
        var signatures = row.putArray("dkim");
        for (Map.Entry<String, String> d : dkim) signatures.addObject().put("domain", d.getKey()).put("result", d.getValue());
        if (shared != null) {
            LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC);
            String json = row.toString();
            writer.execute(() -> {
                try {
                    shared.dmarcRow(day, json);
                } catch (RuntimeException ex) {
                    log.warn("cannot record DMARC report data in the cluster database: {}", ex.getMessage());
                }
            });
            return;
        }
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(LocalDate.ofInstant(now, ZoneOffset.UTC) + ".jsonl");
            Files.writeString(file, row + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ex) {
            log.warn("cannot record DMARC report data in {}: {}", dir, ex.toString());
        }
    }
}
