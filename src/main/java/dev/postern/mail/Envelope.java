package dev.postern.mail;

import java.time.Instant;
import java.util.List;

/**
 * Everything SMTP said about a message besides its content. The queue persists it beside the data.
 *
 * @param body     "7BIT", "8BITMIME" or null (RFC 6152)
 * @param ret      RFC 3461 RET: "FULL", "HDRS" or null
 * @param envid    RFC 3461 ENVID (xtext, as sent) or null
 * @param requireTls RFC 8689: MAIL FROM carried REQUIRETLS; every next hop must be authenticated and offer it
 */
public record Envelope(ReversePath sender, List<Recipient> recipients, String body, boolean smtpUtf8,
                       String ret, String envid, String heloName, String clientAddress, String authUser,
                       Instant arrival, boolean requireTls) {
    public Envelope {
        recipients = List.copyOf(recipients);
    }

    public Envelope(ReversePath sender, List<Recipient> recipients, String body, boolean smtpUtf8, String ret, String envid,
                    String heloName, String clientAddress, String authUser, Instant arrival) {
        this(sender, recipients, body, smtpUtf8, ret, envid, heloName, clientAddress, authUser, arrival, false);
    }
}
