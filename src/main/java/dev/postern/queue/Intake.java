package dev.postern.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The queue's one door: a message being received. Content is written as it arrives; {@link #commitAsync}
 * makes it durable — with any arrival hold in the same durable step — and hands it to the queue's owner,
 * all before it completes, so a 250 sent after it promises a message the queue already knows.
 */
public final class Intake {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    /** Where a committed message goes, with its delivery priority class. */
    interface Enqueue {
        void accept(QueuedMessage m, PriorityClass c);
    }

    private final Spool.Incoming incoming;
    private final dev.postern.mail.Envelope envelope;
    private final Enqueue enqueue;
    private final Runnable failed;
    private final PrecedenceSniffer precedence = new PrecedenceSniffer();
    private boolean notice;
    private boolean bulk;

    Intake(Spool.Incoming incoming, dev.postern.mail.Envelope envelope, Enqueue enqueue) {
        this(incoming, envelope, enqueue, () -> { });
    }

    /** failed: told when a commit fails, which for a remote store may still have committed (the answer was lost). */
    Intake(Spool.Incoming incoming, dev.postern.mail.Envelope envelope, Enqueue enqueue, Runnable failed) {
        this.incoming = incoming;
        this.envelope = envelope;
        this.enqueue = enqueue;
        this.failed = failed;
    }

    public String id() { return incoming.id(); }

    public void write(byte[] b, int off, int len) throws IOException {
        precedence.accept(b, off, len);
        incoming.write(b, off, len);
    }

    /** A policy check classified the message as bulk (an access file's "bulk" action). */
    public void asBulk() { bulk = true; }

    /** A message the server writes itself (a report, a notice): delivered in the notices class. */
    public void asNotice() { notice = true; }

    /** Header fields known only at the end (Authentication-Results, DKIM-Signature); see {@link Spool.Incoming#prepend}. */
    public void prepend(byte[] fields) throws IOException { incoming.prepend(fields); }

    /**
     * Commits and enqueues. holdReason: non-null to keep the message on hold from the start (DMARC
     * quarantine); the hold is durable with the message, never after it.
     */
    public CompletableFuture<QueuedMessage> commitAsync(String holdReason) {
        if (holdReason != null) incoming.hold();
        PriorityClass c = PriorityClass.of(envelope, notice, bulk || precedence.bulk());
        incoming.priority(c);
        return incoming.commitAsync().whenComplete((m, e) -> {
            if (e != null) failed.run();
        }).thenApply(m -> {
            if (holdReason != null) log.info("{}: held on arrival: {}", m.id(), holdReason);
            enqueue.accept(m, c);
            return m;
        });
    }

    /** {@link #commitAsync}, waiting for it. */
    public QueuedMessage commit(String holdReason) throws IOException {
        try {
            return commitAsync(holdReason).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while committing " + id());
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    /** Discards the partial message. Never throws. */
    public void abort() { incoming.abort(); }
}
