package dev.postern.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns one day of recorded DMARC rows ({@link DmarcReports}) into RFC 7489 appendix C aggregate reports,
 * one per policy domain, with identical rows counted together.
 */
public final class DmarcAggregate {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One report: where it goes (the rua URIs the domain published) and its file name per RFC 7489 7.2.1.1. */
    public record Report(String policyDomain, String fileName, String xml, List<String> rua, int messages) {
        /** The XML, gzip'd, as reports travel (RFC 7489 7.2.1.1). */
        public byte[] gzipped() {
            var bytes = new java.io.ByteArrayOutputStream();
            try (var gz = new java.util.zip.GZIPOutputStream(bytes)) {
                gz.write(xml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e); // in memory: cannot happen
            }
            return bytes.toByteArray();
        }
    }

    private DmarcAggregate() {}

    /** reporter: our host name (org_name and the file name); contact: the address reports name as ours. */
    public static List<Report> build(List<String> jsonLines, String reporter, String contact, LocalDate day) {
        Map<String, List<JsonNode>> byDomain = new TreeMap<>();
        for (String line : jsonLines) {
            if (line.isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(line);
                byDomain.computeIfAbsent(n.path("policy_domain").asText(), k -> new ArrayList<>()).add(n);
            } catch (Exception e) {
                // a torn last line (the writer is best effort): skip it
            }
        }
        long begin = day.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        long end = begin + 86_399;
        List<Report> out = new ArrayList<>();
        for (var d : byDomain.entrySet()) {
            List<JsonNode> rows = d.getValue();
            JsonNode latest = rows.get(rows.size() - 1);
            Map<String, Integer> counts = new LinkedHashMap<>();
            Map<String, JsonNode> samples = new LinkedHashMap<>();
            for (JsonNode r : rows) {
                String key = String.join("|", r.path("source_ip").asText(), r.path("disposition").asText(), r.path("dkim_aligned").asText(),
                        r.path("spf_aligned").asText(), r.path("header_from").asText(), r.path("envelope_from").asText(),
                        r.path("spf_domain").asText(), r.path("spf").asText(), r.path("dkim").toString());
                counts.merge(key, 1, Integer::sum);
                samples.putIfAbsent(key, r);
            }
            StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n");
            x.append("  <report_metadata>\n");
            tag(x, 4, "org_name", reporter);
            tag(x, 4, "email", contact);
            tag(x, 4, "report_id", reporter + "." + d.getKey() + "." + day);
            x.append("    <date_range><begin>").append(begin).append("</begin><end>").append(end).append("</end></date_range>\n");
            x.append("  </report_metadata>\n  <policy_published>\n");
            tag(x, 4, "domain", d.getKey());
            tag(x, 4, "adkim", latest.path("adkim").asText("r"));
            tag(x, 4, "aspf", latest.path("aspf").asText("r"));
            tag(x, 4, "p", latest.path("p").asText("none"));
            tag(x, 4, "sp", latest.path("sp").asText().isEmpty() ? latest.path("p").asText("none") : latest.path("sp").asText());
            tag(x, 4, "pct", latest.path("pct").asText("100"));
            x.append("  </policy_published>\n");
            int messages = 0;
            for (var c : counts.entrySet()) {
                JsonNode r = samples.get(c.getKey());
                messages += c.getValue();
                x.append("  <record>\n    <row>\n");
                tag(x, 6, "source_ip", r.path("source_ip").asText());
                tag(x, 6, "count", String.valueOf(c.getValue()));
                x.append("      <policy_evaluated>\n");
                tag(x, 8, "disposition", r.path("disposition").asText());
                tag(x, 8, "dkim", r.path("dkim_aligned").asText());
                tag(x, 8, "spf", r.path("spf_aligned").asText());
                x.append("      </policy_evaluated>\n    </row>\n    <identifiers>\n");
                tag(x, 6, "header_from", r.path("header_from").asText());
                String envFrom = r.path("envelope_from").asText();
                if (!envFrom.isEmpty()) tag(x, 6, "envelope_from", envFrom.substring(envFrom.lastIndexOf('@') + 1));
                x.append("    </identifiers>\n    <auth_results>\n");
                for (JsonNode k : r.path("dkim")) {
                    x.append("      <dkim>");
                    inline(x, "domain", k.path("domain").asText());
                    inline(x, "result", dkimResult(k.path("result").asText()));
                    x.append("</dkim>\n");
                }
                x.append("      <spf>");
                inline(x, "domain", r.path("spf_domain").asText());
                inline(x, "result", r.path("spf").asText());
                x.append("</spf>\n    </auth_results>\n  </record>\n");
            }
            x.append("</feedback>\n");
            List<String> rua = new ArrayList<>();
            for (String u : latest.path("rua").asText().split(",")) if (!u.isBlank()) rua.add(u.strip());
            // RFC 7489 7.2.1.1: receiver "!" policy domain "!" begin "!" end
            out.add(new Report(d.getKey(), reporter + "!" + d.getKey() + "!" + begin + "!" + end + ".xml", x.toString(), rua, messages));
        }
        return out;
    }

    /** RFC 7489 appendix C's DKIMResultType has no "policy"; a weak signature counts as a failure there. */
    private static String dkimResult(String r) {
        return switch (r) {
            case "pass", "fail", "neutral", "temperror", "permerror", "none" -> r;
            default -> "fail";
        };
    }

    private static void tag(StringBuilder x, int indent, String name, String value) {
        x.append(" ".repeat(indent));
        inline(x, name, value);
        x.append('\n');
    }

    private static void inline(StringBuilder x, String name, String value) {
        x.append('<').append(name).append('>').append(escape(value)).append("</").append(name).append('>');
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
