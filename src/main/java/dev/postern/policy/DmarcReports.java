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

    private final Path dir;
    private final Clock clock;

    public DmarcReports(Path dir, Clock clock) {
        this.dir = dir;
        this.clock = clock;
    }

    /** One row: the source, the identifiers, the evaluated results and the disposition applied. */
    public synchronized void record(String sourceIp, Dmarc.Evaluation e, String envelopeFrom, Spf.Outcome spf,
                                    List<Map.Entry<String, String>> dkim, String disposition) {
        if (e.result() == Dmarc.Result.NONE) return; // no policy, nobody to report to
        StringBuilder j = new StringBuilder("{");
        field(j, "time", clock.instant().toString()).append(',');
        field(j, "source_ip", sourceIp).append(',');
        field(j, "header_from", e.fromDomain()).append(',');
        field(j, "policy_domain", e.policyDomain()).append(',');
        field(j, "envelope_from", envelopeFrom == null ? "" : envelopeFrom).append(',');
        field(j, "p", e.record().getOrDefault("p", "")).append(',');
        field(j, "sp", e.record().getOrDefault("sp", "")).append(',');
        field(j, "pct", e.record().getOrDefault("pct", "100")).append(',');
        field(j, "adkim", e.record().getOrDefault("adkim", "r")).append(',');
        field(j, "aspf", e.record().getOrDefault("aspf", "r")).append(',');
        field(j, "rua", e.record().getOrDefault("rua", "")).append(',');
        field(j, "dmarc", e.result().name().toLowerCase()).append(',');
        field(j, "disposition", disposition).append(',');
        field(j, "dkim_aligned", e.dkimAligned() ? "pass" : "fail").append(',');
        field(j, "spf_aligned", e.spfAligned() ? "pass" : "fail").append(',');
        field(j, "spf_domain", spf == null || spf.domain() == null ? "" : spf.domain()).append(',');
        field(j, "spf", spf == null ? "none" : spf.result().label()).append(",\"dkim\":[");
        for (int i = 0; i < dkim.size(); i++) {
            if (i > 0) j.append(',');
            j.append('{');
            field(j, "domain", dkim.get(i).getKey()).append(',');
            field(j, "result", dkim.get(i).getValue()).append('}');
        }
        j.append("]}\n");
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC) + ".jsonl");
            Files.writeString(file, j, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ex) {
            log.warn("cannot record DMARC report data in {}: {}", dir, ex.toString());
        }
    }

    private static StringBuilder field(StringBuilder j, String name, String value) {
        j.append('"').append(name).append("\":\"");
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') j.append('\\').append(c);
            else if (c < 0x20) j.append(String.format("\\u%04x", (int) c));
            else j.append(c);
        }
        return j.append('"');
    }
}
