package dev.postern.queue;

import dev.postern.mail.ContentSigner;
import dev.postern.mail.Envelope;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The queue as the rest of Postern sees it: one door in ({@link #receive}), what the administrator may see and
 * do, and counters. {@link QueueManager} keeps it on this node's disk; {@link ClusterQueue} in PostgreSQL, shared
 * by every node. Either way one owner applies each change, and an administrator's hold or delete issued while an
 * attempt runs wins over that attempt's outcome.
 */
public interface Queue extends AutoCloseable {

    /** Starts receiving a message: the one way into the queue (SMTP, notices, reports). */
    Intake receive(Envelope envelope) throws IOException;

    /** Whether writing to an intake may wait on the disk now (see Spool.writesMayBlock). */
    default boolean intakeMayBlock() { return true; }

    /** Queues a message this server wrote itself (a DMARC report), signed like notices. Returns its queue id. */
    String inject(Envelope env, byte[] content) throws IOException;

    /** Signs the delivery notices this queue writes (DKIM for the host name's domain); none by default. */
    void signNoticesWith(ContentSigner signer);

    /**
     * The SMTP client new delivery attempts use from now on (a reload changed TLS levels, the HELO name or relay
     * credentials); returns the one it replaces, which attempts already running go on with.
     */
    default dev.postern.deliver.SmtpDelivery useDelivery(dev.postern.deliver.SmtpDelivery next) { return null; }

    /** The sender for mail local aliases forward to other hosts (SRS); unchanged by default. */
    default void rewriteForwardedSenders(SenderRewriter r) { }

    /**
     * New retry times and priority classes (a configuration reload): the next attempts start by the new shares,
     * outcomes recorded from now on use the new times; attempts already scheduled keep their time.
     */
    void reconfigure(QueueManager.Times times, Map<PriorityClass, QueueManager.ClassSettings> classes);

    /** Every queued message, oldest first. */
    List<QueuedMessage> list();

    /** One message, or null. */
    QueuedMessage get(String id);

    /** Counters for the metrics endpoint. */
    Map<String, Long> stats();

    /** Changes not yet applied plus attempts whose outcome is not yet recorded; 0 when idle. For tests. */
    int pending();

    /** Looks for due work now (tests move their clock, then call this). */
    void tick();

    /** Makes every deferred message due now (postqueue -f). */
    void flush() throws IOException;

    /** Makes one message due now. False when there is no such message. */
    boolean retry(String id) throws IOException;

    /** Holds a message: no attempt starts until release. Durable when this returns. */
    boolean hold(String id) throws IOException;

    /** Releases a held message and makes it due now. */
    boolean release(String id) throws IOException;

    /** Deletes a message without notice (postsuper -d); an attempt in progress is disowned. */
    boolean delete(String id) throws IOException;

    /** Fails every pending recipient now and tells the sender. */
    boolean bounce(String id) throws IOException;

    /** As {@link #bounce(String)}, with the reason the sender's notice gives (a content filter's refusal). */
    boolean bounce(String id, dev.postern.mail.Reply reason) throws IOException;

    /** A queued message's content as stored (our trace field first). */
    java.io.InputStream content(String id) throws IOException;

    @Override void close();
}
