package dev.postern.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the recorded DMARC rows ({@link DmarcReports}) say per day and policy domain: messages evaluated,
 * how many passed (aligned DKIM or SPF, RFC 7489 3.1), and what was done with the others. For the console.
 */
public final class DmarcSummary {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One domain's day. */
    public record Domain(String domain, int messages, int pass, int fail, int quarantined, int rejected) {}

    private DmarcSummary() {}

    /** The last {@code days} days up to today, newest first; days without rows are left out. */
    public static Map<LocalDate, List<Domain>> of(DmarcReports reports, LocalDate today, int days) throws IOException {
        Map<LocalDate, List<Domain>> out = new LinkedHashMap<>();
        for (int i = 0; i < days; i++) {
            LocalDate day = today.minusDays(i);
            List<String> rows = reports.rows(day);
            if (rows != null) out.put(day, summarize(rows));
        }
        return out;
    }

    static List<Domain> summarize(List<String> rows) {
        Map<String, int[]> byDomain = new TreeMap<>(); // messages, pass, fail, quarantined, rejected
        for (String line : rows) {
            if (line.isBlank()) continue;
            JsonNode r;
            try {
                r = JSON.readTree(line);
            } catch (IOException e) {
                continue; // a torn last line (the writer is best effort)
            }
            int[] c = byDomain.computeIfAbsent(r.path("policy_domain").asText(), k -> new int[5]);
            c[0]++;
            boolean pass = r.path("dkim_aligned").asText().equals("pass") || r.path("spf_aligned").asText().equals("pass");
            c[pass ? 1 : 2]++;
            switch (r.path("disposition").asText()) {
                case "quarantine" -> c[3]++;
                case "reject" -> c[4]++;
                default -> { }
            }
        }
        List<Domain> out = new ArrayList<>();
        byDomain.forEach((d, c) -> out.add(new Domain(d, c[0], c[1], c[2], c[3], c[4])));
        return out;
    }
}
