package dev.postern.queue;

import dev.postern.mail.Recipient;

import java.time.Instant;

/** One recipient's place in the queue: status, attempts, the next attempt time and the last reply seen. */
public record RecipientState(Recipient recipient, Status status, int attempts, Instant nextAttempt, String lastReply,
                             String relay, boolean delayWarned) {

    public enum Status { PENDING, DEFERRED, DELIVERED, FAILED }

    public RecipientState(Recipient recipient, Status status, int attempts, Instant nextAttempt, String lastReply) {
        this(recipient, status, attempts, nextAttempt, lastReply, null, false);
    }

    public static RecipientState fresh(Recipient r) { return new RecipientState(r, Status.PENDING, 0, null, null); }

    public RecipientState withDelayWarned() {
        return new RecipientState(recipient, status, attempts, nextAttempt, lastReply, relay, true);
    }

    /** Ready for another attempt now (flush, retry). */
    public RecipientState dueNow() {
        return isFinal() ? this : new RecipientState(recipient, status, attempts, null, lastReply, relay, delayWarned);
    }

    public boolean isFinal() { return status == Status.DELIVERED || status == Status.FAILED; }
}
