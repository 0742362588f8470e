package dev.postern.queue;

import dev.postern.mail.Envelope;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Durable storage of queued messages. Implementations: {@link LogSpool} (group commit, the default),
 * {@link FileSpool} (one file per message) and {@link PgQueueStore} (a cluster's PostgreSQL database, which
 * adds leases for several nodes); one contract test suite runs against all three.
 */
public interface Spool {

    /** Starts receiving a message; its queue id is known from here on (the Received header cites it). */
    Incoming begin(Envelope envelope) throws IOException;

    /** A message being received. Not visible to {@link #recover()} until {@link #commit()} returns. */
    interface Incoming {
        String id();

        void write(byte[] b, int off, int len) throws IOException;

        /**
         * Header fields to put before everything written (Authentication-Results, DKIM-Signature: known only once
         * the whole message was read). Called at most once, before the commit; part of the same durable commit.
         */
        void prepend(byte[] fields) throws IOException;

        /** Commits the message held (DMARC quarantine): the hold is part of the same durable commit. */
        void hold();

        /**
         * The message's delivery priority class, told before the commit. A store that keeps it (the cluster's,
         * whose other nodes may deliver the message) writes it in the same commit; the others derive it again.
         */
        default void priority(PriorityClass c) { }

        /** Makes the message durable; returns only after data and directory entry are on disk. */
        QueuedMessage commit() throws IOException;

        /**
         * The same promise without holding the calling thread while the disk works: the future completes
         * only once the message is durable. Stores that group commits override this.
         */
        default java.util.concurrent.CompletableFuture<QueuedMessage> commitAsync() {
            try {
                return java.util.concurrent.CompletableFuture.completedFuture(commit());
            } catch (IOException e) {
                return java.util.concurrent.CompletableFuture.failedFuture(e);
            }
        }

        /** Discards the partial message. Never throws. */
        void abort();
    }

    /** Everything committed and not yet removed, partials discarded. Called once at start. */
    List<QueuedMessage> recover() throws IOException;

    /** The message content as received (CRLF line ends, trace header first). */
    InputStream openContent(String id) throws IOException;

    /** Durably records per-recipient state. */
    void saveState(QueuedMessage message) throws IOException;

    /** Removes a message whose recipients are all final. */
    void remove(String id) throws IOException;

    /**
     * As {@link #saveState}, completing once durable; a store whose writes are group-committed returns at
     * once, so the calling thread does not wait on the disk. The default runs the blocking write here.
     */
    default java.util.concurrent.CompletableFuture<Void> saveStateAsync(QueuedMessage message) {
        return done(() -> saveState(message));
    }

    /** As {@link #remove}, completing once durable (see {@link #saveStateAsync}). */
    default java.util.concurrent.CompletableFuture<Void> removeAsync(String id) {
        return done(() -> remove(id));
    }

    /** A blocking write as a completed (or failed) future. */
    private static java.util.concurrent.CompletableFuture<Void> done(Write write) {
        try {
            write.run();
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    /** One blocking write. */
    interface Write {
        void run() throws IOException;
    }

    /**
     * Whether a write of incoming content or a commit may wait on the disk now. A store that only hands
     * writes to its own writer thread answers false (until that writer falls behind), and sessions then
     * write on their event loop instead of crossing to a thread pool.
     */
    default boolean writesMayBlock() { return true; }

    /**
     * Copies what the store holds into dir (laid out as under the queue directory), consistent: every message
     * committed before this call is in the copy. Stores that live elsewhere (PostgreSQL) refuse.
     */
    default void snapshot(java.nio.file.Path dir) throws IOException {
        throw new IOException("this queue store is not backed up by postern backup (use the database's own backup)");
    }

    /** Counters for the metrics endpoint (name → value). */
    default java.util.Map<String, Long> stats() { return java.util.Map.of(); }

    /** Releases files and threads; nothing durable depends on it. */
    default void close() {}
}
