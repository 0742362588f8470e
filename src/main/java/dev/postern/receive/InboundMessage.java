package dev.postern.receive;

import dev.postern.mail.Envelope;
import dev.postern.message.HeaderScanner;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.Intake;
import dev.postern.queue.Queue;

import dev.postern.route.DnsReplay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A message streaming from one session into the spool. The session calls these methods on its event
 * loop; the disk work runs in order on the session's {@link SerialExecutor}. The first disk error is
 * kept and reported at the end, when the client is waiting for the final reply.
 */
final class InboundMessage {
    private final SerialExecutor disk;
    private final long maxSize;
    private final HeaderScanner scanner = new HeaderScanner();
    private final AtomicLong unwritten = new AtomicLong();
    private volatile Intake incoming;
    private volatile IOException error;
    private final MessageAuthentication auth;
    private long size;
    private boolean oversized;
    private volatile String authSummary = "";

    /** auth: null when no authentication work applies (then the content goes to disk untouched). */
    InboundMessage(SerialExecutor disk, long maxSize, MessageAuthentication auth) {
        this(disk, maxSize, auth, null);
    }

    /**
     * filtering: non-null when milters see the message before the queue does; then the content is held in
     * a file of its own until they have answered, and what they leave is what goes to the queue.
     */
    InboundMessage(SerialExecutor disk, long maxSize, MessageAuthentication auth, MilterStage filtering) {
        this.disk = disk;
        this.maxSize = maxSize;
        this.auth = auth;
        this.filtering = filtering;
    }

    private final MilterStage filtering;
    private volatile String holdReason;
    private volatile AfterQueueFilter afterQueue;

    /** [milter] after_queue: queued held and remembered as pending before the 250, filtered afterwards. */
    void filterAfterQueue(AfterQueueFilter f) { this.afterQueue = f; }

    /** Whether the queued message waits for the after-queue milters (false when held for another reason). */
    boolean awaitsAfterQueue() { return afterQueue != null && AfterQueueFilter.AWAITING.equals(committedHold); }

    private volatile String committedHold;

    /** The message was discarded by a milter: the client gets a 250, and nothing is queued. */
    static final class Discarded extends Exception {
        Discarded() { super("discarded by a milter", null, false, false); }
    }

    /** The end of the message was refused by authentication (DMARC reject, forged trace fields). */
    static final class Refused extends Exception {
        final dev.postern.mail.Reply reply;
        Refused(dev.postern.mail.Reply reply) {
            super(reply.toString(), null, false, false);
            this.reply = reply;
        }
    }

    /** Runs on the disk executor: opens the queue's intake and writes our trace header first. */
    String begin(Queue queue, Envelope envelope, Function<String, String> receivedHeader) throws IOException {
        if (filtering != null) {
            filtering.hold(); // the queue entry is made once the milters have answered, with the envelope they leave
            return null;
        }
        return open(queue, envelope, receivedHeader);
    }

    /** The queue's intake, our trace field first. */
    private String open(Queue queue, Envelope envelope, Function<String, String> receivedHeader) throws IOException {
        incoming = queue.receive(envelope);
        if (bulk) incoming.asBulk();
        byte[] h = receivedHeader.apply(incoming.id()).getBytes(StandardCharsets.UTF_8);
        incoming.write(h, 0, h.length);
        return incoming.id();
    }

    private volatile boolean bulk;

    /** A policy check put the message in the bulk priority class. */
    void markBulk() { bulk = true; }

    String id() { return incoming == null ? null : incoming.id(); }

    /** Queues content for the disk; returns the bytes not yet written, for back-pressure. */
    long write(byte[] b, int off, int len) {
        scanner.feed(b, off, len);
        size += len;
        // RFC 1870 6.1: past the limit we keep reading to the end but store nothing more
        if (size > maxSize) oversized = true;
        if (oversized || len == 0) return unwritten.get();
        // held for the milters as it came, or through authentication to the queue
        return filtering != null ? store(b, off, len) : feed(b, off, len);
    }

    /** Through authentication (header fields held until the header ends) to the queue. */
    private long feed(byte[] b, int off, int len) {
        if (auth != null) {
            if (!auth.headerComplete()) {
                // the header section is held until it ends, so forged fields can be dropped before the disk
                int taken = auth.feedHeader(b, off, len);
                if (!auth.headerComplete()) return unwritten.get();
                byte[] head = auth.endHeader();
                store(head, 0, head.length);
                off += taken;
                len -= taken;
            }
            auth.body(b, off, len);
        }
        return len == 0 ? unwritten.get() : store(b, off, len);
    }

    /** At the end of the data: a message that never ended its header section still goes to disk. */
    void endOfContent() {
        if (filtering != null) return; // the header is handled when the filtered message goes to the queue
        endOfFed();
    }

    private void endOfFed() {
        if (auth != null && !auth.headerComplete() && !oversized) {
            byte[] head = auth.endHeader();
            store(head, 0, head.length);
        }
    }

    String authSummary() { return authSummary; }

    private long store(byte[] b, int off, int len) {
        byte[] copy = java.util.Arrays.copyOfRange(b, off, off + len);
        long pending = unwritten.addAndGet(len);
        disk.execute(() -> {
            try {
                // the queue's intake; before it exists (milters first) the milters' copy
                if (error == null && incoming != null) incoming.write(copy, 0, copy.length);
                else if (error == null && filtering != null) filtering.write(copy);
            } catch (IOException e) {
                error = e;
            } finally {
                unwritten.addAndGet(-copy.length);
            }
        });
        return pending;
    }

    long unwritten() { return unwritten.get(); }

    boolean oversized() { return oversized; }

    int receivedHeaders() { return scanner.receivedCount(); }

    /**
     * At the end of the data, on the event loop: the message's authentication runs first, on the check
     * executor without a thread waiting on the DNS; then, on the disk executor after every write, the
     * durable commit (with any arrival hold in the same step). Completes once the message is queued, or
     * with the error or refusal.
     */
    CompletableFuture<QueuedMessage> commit(DnsReplay lookups) {
        if (filtering != null) return filtered(lookups);
        return checkAndCommit(lookups);
    }

    /**
     * Milters first: the held copy goes to them; a refusal or discard ends it here; otherwise the message as
     * they left it (and the envelope they changed) goes through authentication into the queue, as unfiltered
     * mail does. The held copy is deleted in every case.
     */
    private CompletableFuture<QueuedMessage> filtered(DnsReplay lookups) {
        CompletableFuture<Void> written = new CompletableFuture<>();
        disk.execute(() -> {
            if (error != null) written.completeExceptionally(error);
            else written.complete(null);
        });
        CompletableFuture<QueuedMessage> done = written.thenCompose(x -> filtering.run()).thenCompose(r -> {
            dev.postern.filter.MilterSession.Verdict v = r.verdict();
            if (v.refusal() != null) return CompletableFuture.failedFuture(new Refused(v.refusal()));
            if (v.discard()) return CompletableFuture.failedFuture(new Discarded());
            holdReason = r.quarantine();
            CompletableFuture<Void> fed = new CompletableFuture<>();
            disk.execute(() -> {
                try {
                    open(filtering.queue(), filtering.envelope(r), filtering.receivedHeader());
                    byte[] head = r.message().headerBytes();
                    feed(head, 0, head.length);
                    try (var body = r.message().body().open()) {
                        byte[] buf = new byte[64 * 1024];
                        for (int n; (n = body.read(buf)) > 0; ) feed(buf, 0, n);
                    }
                    endOfFed();
                    fed.complete(null);
                } catch (IOException | RuntimeException e) {
                    fed.completeExceptionally(e);
                }
            });
            return fed.thenCompose(y -> checkAndCommit(lookups));
        });
        return done.whenComplete((m, e) -> filtering.discard());
    }

    private CompletableFuture<QueuedMessage> checkAndCommit(DnsReplay lookups) {
        CompletableFuture<MessageAuthentication.Outcome> checked = auth == null ? CompletableFuture.completedFuture(null)
                : auth.hasWork() ? lookups.run(auth::finish) : finishedHere();
        return checked.handleAsync(this::commitChecked, disk).thenCompose(c -> c);
    }

    /** Nothing to verify or sign (trusted senders, verification off): no trip to the check executor. */
    private CompletableFuture<MessageAuthentication.Outcome> finishedHere() {
        try {
            return CompletableFuture.completedFuture(auth.finish());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<QueuedMessage> commitChecked(MessageAuthentication.Outcome o, Throwable failed) {
        if (error != null) {
            incoming.abort();
            return CompletableFuture.failedFuture(error);
        }
        if (failed != null) {
            // as a milter failure in Postfix (milter_default_action = tempfail): never accept unchecked mail
            Throwable cause = failed instanceof java.util.concurrent.CompletionException && failed.getCause() != null ? failed.getCause() : failed;
            SmtpSession.log.error("{}: message authentication failed: {}", incoming.id(), cause.toString(), cause);
            incoming.abort();
            return CompletableFuture.failedFuture(new Refused(
                    dev.postern.mail.Reply.of(451, "4.3.0", "Temporary failure in message authentication, try again later")));
        }
        if (o == null) return commitHeld(holdReason);
        o.effects().run();
        authSummary = o.summary();
        if (o.refusal() != null) {
            incoming.abort();
            return CompletableFuture.failedFuture(new Refused(o.refusal()));
        }
        try {
            if (o.prefix().length > 0) incoming.prepend(o.prefix());
        } catch (IOException e) {
            incoming.abort();
            return CompletableFuture.failedFuture(e);
        }
        return commitHeld(o.holdReason() != null ? o.holdReason() : holdReason);
    }

    /** The commit, held for the after-queue milters when they apply and nothing else holds it. */
    private CompletableFuture<QueuedMessage> commitHeld(String reason) {
        if (reason == null && afterQueue != null) {
            try {
                afterQueue.expect(incoming.id());
            } catch (IOException e) {
                incoming.abort();
                return CompletableFuture.failedFuture(e);
            }
            reason = AfterQueueFilter.AWAITING;
        }
        committedHold = reason;
        return incoming.commitAsync(reason);
    }

    void abort() {
        disk.execute(() -> {
            if (incoming != null) incoming.abort();
            if (filtering != null) filtering.discard();
        });
    }
}
