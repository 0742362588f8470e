package dev.postern.queue;

import dev.postern.mail.Envelope;

import java.util.List;

/** A message at rest in the spool: its id, envelope, per-recipient state and content size in octets. */
public record QueuedMessage(String id, Envelope envelope, List<RecipientState> recipients, long size, boolean held) {
    public QueuedMessage {
        recipients = List.copyOf(recipients);
    }

    public QueuedMessage(String id, Envelope envelope, List<RecipientState> recipients, long size) {
        this(id, envelope, recipients, size, false);
    }

    public QueuedMessage withRecipients(List<RecipientState> next) {
        return new QueuedMessage(id, envelope, next, size, held);
    }

    public QueuedMessage withHeld(boolean h) {
        return new QueuedMessage(id, envelope, recipients, size, h);
    }

    /** When the next attempt is due: the earliest of the non-final recipients (null = now). */
    public java.time.Instant nextAttempt() {
        java.time.Instant next = null;
        for (RecipientState r : recipients) {
            if (r.isFinal()) continue;
            if (r.nextAttempt() == null) return null;
            if (next == null || r.nextAttempt().isBefore(next)) next = r.nextAttempt();
        }
        return next;
    }

    public boolean isDone() { return recipients.stream().allMatch(RecipientState::isFinal); }
}
