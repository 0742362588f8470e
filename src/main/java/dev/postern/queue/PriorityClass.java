package dev.postern.queue;

import dev.postern.mail.Envelope;

import java.util.Locale;

/**
 * Delivery priority classes ([queue.classes]): mail from users must never wait behind bulk mail or a flood
 * of bounces for a slow destination. Each class keeps a share of the delivery concurrency for itself.
 */
public enum PriorityClass {
    /** Bounces, DSNs and reports the server writes itself (null reverse-path, or queued by the server). */
    NOTICES,
    /** Mail from authenticated users (submission). */
    SUBMISSION,
    /** Everything else: inbound mail for local domains, relayed mail. */
    RELAY,
    /** Mail that says it is bulk: "Precedence: bulk | list | junk" (RFC 2076 3.9; RFC 3834 2). */
    BULK;

    public String configName() { return name().toLowerCase(Locale.ROOT); }

    /**
     * The class of a message from its envelope and what its header said. A bulk header wins over a login:
     * list managers submit with AUTH too, and their mail must not crowd out a person's.
     */
    static PriorityClass of(Envelope e, boolean ownNotice, boolean bulkHeader) {
        if (ownNotice || e.sender().isNull()) return NOTICES;
        if (bulkHeader) return BULK;
        return e.authUser() != null ? SUBMISSION : RELAY;
    }
}
