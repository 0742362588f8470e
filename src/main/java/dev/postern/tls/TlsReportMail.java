package dev.postern.tls;

import dev.postern.route.Dns;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Where a TLS report goes (the _smtp._tls TXT record, RFC 8460 3) and the mail that carries it (5.3). */
public final class TlsReportMail {
    private TlsReportMail() {}

    /** The rua URIs of a domain's TLSRPTv1 record ("mailto:..." and "https://..."); empty without one. */
    public static List<String> rua(Dns dns, String domain) {
        Dns.Answer<String> a = dns.txt("_smtp._tls." + domain);
        List<String> out = new ArrayList<>();
        if (a.status() != Dns.Status.OK) return out;
        List<String> records = a.values().stream().filter(r -> r.startsWith("v=TLSRPTv1")).toList();
        if (records.size() != 1) return out; // RFC 8460 3: none, or more than one, means no reports
        for (String field : records.get(0).split(";")) {
            String f = field.trim();
            if (!f.startsWith("rua=")) continue;
            for (String uri : f.substring(4).split(",")) {
                String u = uri.trim();
                if (u.startsWith("mailto:") || u.startsWith("https:")) out.add(u);
            }
        }
        return out;
    }

    /** RFC 8460 5.3: multipart/report; report-type="tlsrpt" with the gzipped JSON as application/tlsrpt+gzip. */
    public static byte[] compose(TlsReports.Report r, String from, String to, String submitter, Instant now) {
        String boundary = "=_postern_tlsrpt_" + Long.toHexString(now.toEpochMilli());
        StringBuilder m = new StringBuilder();
        m.append("From: ").append(from).append("\r\n");
        m.append("To: ").append(to).append("\r\n");
        m.append("Subject: Report Domain: ").append(r.domain()).append(" Submitter: ").append(submitter)
                .append(" Report-ID: <").append(r.reportId()).append(">\r\n");
        m.append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(now.atZone(ZoneOffset.UTC))).append("\r\n");
        m.append("Message-ID: <").append(r.reportId().replace("@", ".")).append("@").append(submitter).append(">\r\n");
        m.append("TLS-Report-Domain: ").append(r.domain()).append("\r\n");
        m.append("TLS-Report-Submitter: ").append(submitter).append("\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"").append(boundary).append("\"\r\n\r\n");
        m.append("--").append(boundary).append("\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        m.append("TLS report for ").append(r.domain()).append(" from ").append(submitter).append(".\r\n\r\n");
        m.append("--").append(boundary).append("\r\nContent-Type: application/tlsrpt+gzip\r\n");
        m.append("Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"").append(r.fileName()).append("\"\r\n\r\n");
        m.append(Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(r.gzipped())).append("\r\n");
        m.append("--").append(boundary).append("--\r\n");
        return m.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
