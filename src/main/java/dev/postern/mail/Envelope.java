package dev.postern.mail;

import java.time.Instant;
import java.util.List;

/**
 * Everything SMTP said about a message besides its content. The queue persists it beside the data.
 *
 * @param body     "7BIT", "8BITMIME" or null (RFC 6152)
 * @param ret      RFC 3461 RET: "FULL", "HDRS" or null
 * @param envid    RFC 3461 ENVID (xtext, as sent) or null
 */
public record Envelope(ReversePath sender, List<Recipient> recipients, String body, boolean smtpUtf8,
                       String ret, String envid, String heloName, String clientAddress, String authUser,
                       Instant arrival) {
    public Envelope {
        recipients = List.copyOf(recipients);
    }
}
