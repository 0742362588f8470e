package dev.postern.queue;

import dev.postern.mail.Envelope;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report): a human-readable part, the
 * machine-readable message/delivery-status part, and the original message (RET=FULL, the default for
 * failures) or its headers (RET=HDRS, and always for delay and success notices).
 */
final class DsnWriter {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    enum Kind {
        FAILED("failed", "Undelivered Mail Returned to Sender",
                "I'm sorry to have to inform you that your message could not be delivered to one or more recipients."),
        DELAYED("delayed", "Delayed Mail (still being retried)",
                "Your message could not be delivered yet to one or more recipients. It will be retried until it is too old."),
        SUCCESS("delivered", "Successful Mail Delivery Report",
                "Your message was successfully delivered to the destination(s) listed below.");

        final String action;
        final String subject;
        final String explanation;

        Kind(String action, String subject, String explanation) {
            this.action = action;
            this.subject = subject;
            this.explanation = explanation;
        }
    }

    /** One recipient line of the report. action overrides the kind's (e.g. "relayed"). */
    record Entry(RecipientState state, String action, String status, String diagnostic, String remoteMta) {}

    private DsnWriter() {}

    /** Writes the whole notification (CRLF line ends) for message {@code m} to {@code out}. */
    static void write(OutputStream out, Kind kind, String hostname, QueuedMessage m, List<Entry> entries,
                      Instant now, Instant retryUntil, InputStream original) throws IOException {
        Envelope env = m.envelope();
        String boundary = m.id() + "/" + hostname;
        StringBuilder h = new StringBuilder();
        h.append("From: MAILER-DAEMON@").append(hostname).append(" (Mail Delivery System)\r\n");
        h.append("To: <").append(env.sender()).append(">\r\n");
        h.append("Subject: ").append(kind.subject).append("\r\n");
        h.append("Date: ").append(DATE.format(now)).append("\r\n");
        h.append("Message-ID: <").append(m.id()).append('.').append(kind.name().toLowerCase(Locale.ROOT)).append('.')
                .append(now.toEpochMilli()).append('@').append(hostname).append(">\r\n");
        h.append("Auto-Submitted: auto-replied\r\n"); // RFC 3834: never answer this automatically
        h.append("MIME-Version: 1.0\r\n");
        h.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"").append(boundary).append("\"\r\n");
        h.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        h.append("This is a MIME-encapsulated message.\r\n\r\n");

        // 1. for people
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        h.append("This is the mail system at host ").append(hostname).append(".\r\n\r\n").append(kind.explanation).append("\r\n\r\n");
        for (Entry e : entries) {
            h.append("<").append(e.state().recipient().address()).append(">: ").append(e.diagnostic()).append("\r\n");
        }
        h.append("\r\n");

        // 2. for programs: RFC 3464 2.2 per-message fields, 2.3 per-recipient fields
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n");
        h.append("Reporting-MTA: dns; ").append(hostname).append("\r\n");
        h.append("X-Postern-Queue-ID: ").append(m.id()).append("\r\n");
        if (env.envid() != null) h.append("Original-Envelope-Id: ").append(env.envid()).append("\r\n");
        h.append("Arrival-Date: ").append(DATE.format(env.arrival())).append("\r\n");
        for (Entry e : entries) {
            h.append("\r\n");
            String orcpt = e.state().recipient().orcpt();
            if (orcpt != null) h.append("Original-Recipient: ").append(orcpt).append("\r\n");
            h.append("Final-Recipient: rfc822; ").append(e.state().recipient().address()).append("\r\n");
            h.append("Action: ").append(e.action()).append("\r\n");
            h.append("Status: ").append(e.status()).append("\r\n");
            if (e.remoteMta() != null) h.append("Remote-MTA: dns; ").append(e.remoteMta()).append("\r\n");
            h.append("Diagnostic-Code: smtp; ").append(e.diagnostic()).append("\r\n");
            h.append("Last-Attempt-Date: ").append(DATE.format(now)).append("\r\n");
            if (kind == Kind.DELAYED && retryUntil != null) h.append("Will-Retry-Until: ").append(DATE.format(retryUntil)).append("\r\n");
        }
        h.append("\r\n");

        // 3. the original: whole for failures unless RET=HDRS (RFC 3461 4.3), headers otherwise
        boolean full = kind == Kind.FAILED && !"HDRS".equals(env.ret());
        h.append("--").append(boundary).append("\r\n");
        h.append("Content-Description: ").append(full ? "Undelivered Message" : "Message Headers").append("\r\n");
        h.append("Content-Type: ").append(full ? "message/rfc822" : "text/rfc822-headers").append("\r\n\r\n");
        out.write(h.toString().getBytes(StandardCharsets.UTF_8));
        copyOriginal(original, out, full);
        out.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** Copies the message, or only its header section (up to the first empty line). */
    private static void copyOriginal(InputStream in, OutputStream out, boolean full) throws IOException {
        if (full) {
            in.transferTo(out);
            return;
        }
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                if (line.size() <= 2) return; // the empty line ends the header section
                line.writeTo(out);
                line.reset();
            }
        }
        line.writeTo(out);
    }
}
