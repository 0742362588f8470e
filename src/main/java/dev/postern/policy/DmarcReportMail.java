package dev.postern.policy;

import dev.postern.route.Dns;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/** Aggregate reports as mail (RFC 7489 7.2.1.1) and who may receive them (7.1, external destinations). */
public final class DmarcReportMail {
    private DmarcReportMail() {}

    /**
     * The mailto: addresses of a report that may receive it: ones in the policy domain's own organization, and
     * others only when their domain publishes {@code <policy domain>._report._dmarc.<their domain>} (RFC 7489 7.1).
     * A "!size" limit is dropped (our reports are small).
     */
    public static List<String> recipients(DmarcAggregate.Report r, Dns dns) {
        List<String> out = new ArrayList<>();
        for (String uri : r.rua()) {
            if (!uri.toLowerCase(Locale.ROOT).startsWith("mailto:")) continue;
            String addr = uri.substring(7);
            int bang = addr.indexOf('!');
            if (bang >= 0) addr = addr.substring(0, bang);
            int at = addr.lastIndexOf('@');
            if (at <= 0 || at == addr.length() - 1) continue;
            String domain = addr.substring(at + 1).toLowerCase(Locale.ROOT);
            boolean same = Dmarc.organizationalDomain(domain).equals(Dmarc.organizationalDomain(r.policyDomain()));
            if (!same && !authorizes(dns, r.policyDomain(), domain)) continue;
            out.add(addr);
        }
        return out;
    }

    private static boolean authorizes(Dns dns, String policyDomain, String reportDomain) {
        return dns.txt(policyDomain + "._report._dmarc." + reportDomain).values().stream()
                .anyMatch(t -> t.replace(" ", "").toUpperCase(Locale.ROOT).startsWith("V=DMARC1"));
    }

    /** The report message: a short text part and the gzip'd XML (RFC 7489 7.2.1.1 subject and file name). */
    public static byte[] compose(DmarcAggregate.Report r, byte[] gzipped, String from, String to, String submitter, Instant now) {
        String reportId = submitter + "." + r.policyDomain() + "." + now.getEpochSecond();
        String boundary = "=_postern_" + Long.toHexString(now.toEpochMilli());
        StringBuilder m = new StringBuilder();
        m.append("From: ").append(from).append("\r\n");
        m.append("To: ").append(to).append("\r\n");
        m.append("Subject: Report Domain: ").append(r.policyDomain()).append(" Submitter: ").append(submitter)
                .append(" Report-ID: <").append(reportId).append(">\r\n");
        m.append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(now.atZone(ZoneOffset.UTC))).append("\r\n");
        m.append("Message-ID: <").append(reportId).append("@").append(submitter).append(">\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: multipart/mixed; boundary=\"").append(boundary).append("\"\r\n\r\n");
        m.append("--").append(boundary).append("\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        m.append("DMARC aggregate report for ").append(r.policyDomain()).append(" from ").append(submitter)
                .append(": ").append(r.messages()).append(" messages.\r\n\r\n");
        m.append("--").append(boundary).append("\r\nContent-Type: application/gzip; name=\"").append(r.fileName()).append(".gz\"\r\n");
        m.append("Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"").append(r.fileName()).append(".gz\"\r\n\r\n");
        m.append(Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(gzipped)).append("\r\n");
        m.append("--").append(boundary).append("--\r\n");
        return m.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
