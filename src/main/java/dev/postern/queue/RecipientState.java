package dev.postern.queue;

import dev.postern.mail.Recipient;

import java.time.Instant;

/** One recipient's place in the queue: status, attempts, the next attempt time and the last reply seen. */
public record RecipientState(Recipient recipient, Status status, int attempts, Instant nextAttempt, String lastReply) {

    public enum Status { PENDING, DEFERRED, DELIVERED, FAILED }

    public static RecipientState fresh(Recipient r) { return new RecipientState(r, Status.PENDING, 0, null, null); }

    public boolean isFinal() { return status == Status.DELIVERED || status == Status.FAILED; }
}
