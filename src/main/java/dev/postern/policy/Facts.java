package dev.postern.policy;

import dev.postern.mail.Address;

import java.net.InetAddress;

/**
 * What is known about a session when a check runs. Fields of later phases are null in earlier ones:
 * helo from HELO on, sender from MAIL on (null also for the null sender, see nullSender), recipient at RCPT.
 * authUser is the SASL identity, or null.
 */
public record Facts(Phase phase, InetAddress client, String clientName, String helo, String authUser,
                    Address sender, boolean nullSender, Address recipient, Classes classes) {

    /** classes: where the checks' Classify verdicts are noted for the transaction (shared by its copies). */
    public Facts(Phase phase, InetAddress client, String clientName, String helo, String authUser, Address sender, boolean nullSender,
                 Address recipient) {
        this(phase, client, clientName, helo, authUser, sender, nullSender, recipient, new Classes());
    }

    public boolean authenticated() { return authUser != null; }

    public Facts withHelo(String h) { return new Facts(phase, client, clientName, h, authUser, sender, nullSender, recipient, classes); }

    public Facts withSender(Address s) { return new Facts(phase, client, clientName, helo, authUser, s, s == null, recipient, classes); }

    public Facts withRecipient(Address r) { return new Facts(phase, client, clientName, helo, authUser, sender, nullSender, r, classes); }

    Facts inPhase(Phase p) { return new Facts(p, client, clientName, helo, authUser, sender, nullSender, recipient, classes); }
}
