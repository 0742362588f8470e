package dev.postern.message;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Builds the Received header of RFC 5321 4.4 (Stamp syntax), e.g.
 * <pre>
 * Received: from client.example (host.example [192.0.2.1])
 *	by mx.example (Postern) with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384)
 *	id 4Xk2p9...; for &lt;alice@example.test&gt;; Tue, 24 Nov 2026 06:00:00 +0000
 * </pre>
 */
public final class ReceivedHeader {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    private ReceivedHeader() {}

    /**
     * @param protocol  RFC 3848 "with" keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (UTF8 variants per RFC 6531)
     * @param tls       "TLSv1.3 TLS_AES_..." or null
     * @param forRcpt   the single recipient, or null when there are several (privacy, RFC 5321 7.2)
     */
    public static String build(String helo, String reverseName, String ip, String hostname, String protocol,
                               String tls, String queueId, String forRcpt, ZonedDateTime when) {
        StringBuilder sb = new StringBuilder("Received: from ").append(clean(helo))
                .append(" (").append(reverseName == null ? "unknown" : clean(reverseName))
                .append(" [").append(ip).append("])\r\n\tby ").append(hostname).append(" (Postern) with ").append(protocol);
        if (tls != null) sb.append(" (").append(clean(tls)).append(')');
        sb.append("\r\n\tid ").append(queueId);
        if (forRcpt != null) sb.append("\r\n\tfor <").append(clean(forRcpt)).append('>');
        sb.append("; ").append(DATE.format(when)).append("\r\n");
        return sb.toString();
    }

    /**
     * Client-supplied text never breaks the header: control characters, parentheses and backslashes
     * become "?" (they would end or escape the comment).
     */
    private static String clean(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '(' || c == ')' || c == '\\') {
                if (out == null) out = new StringBuilder(s.length()).append(s, 0, i);
                out.append('?');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? s : out.toString();
    }
}
