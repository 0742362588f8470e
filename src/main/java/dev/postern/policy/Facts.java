package dev.postern.policy;

import dev.postern.mail.Address;

import java.net.InetAddress;

/**
 * What is known about a session when a check runs. Fields of later phases are null in earlier ones:
 * helo from HELO on, sender from MAIL on (null also for the null sender, see nullSender), recipient at RCPT.
 */
public record Facts(InetAddress client, String clientName, String helo, boolean authenticated,
                    Address sender, boolean nullSender, Address recipient) {

    public Facts withHelo(String h) { return new Facts(client, clientName, h, authenticated, sender, nullSender, recipient); }
}
