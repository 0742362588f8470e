package dev.postern.queue;

import dev.postern.mail.ContentSigner;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.List;

/**
 * Messages the queue writes itself — delivery status notifications (RFC 3464) and injected reports — queued
 * through the same intake as received mail and signed by the notice signer. Blocking: runs on the queue's
 * writer threads, never on its owner.
 */
final class Notices {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    private final Queue queue;
    private final Spool spool;
    private final String hostname;
    private final QueueManager.Times times;
    private volatile ContentSigner signer = ContentSigner.NONE;

    Notices(Queue queue, Spool spool, String hostname, QueueManager.Times times) {
        this.queue = queue;
        this.spool = spool;
        this.hostname = hostname;
        this.times = times;
    }

    void signWith(ContentSigner s) { this.signer = s; }

    /** Queues a notification to the sender; never for a null sender (RFC 5321 6.1: no bounce of a bounce). */
    void send(QueuedMessage m, OutcomeRules.Notice notice, Instant now) {
        if (m.envelope().sender().isNull()) {
            log.info("{}: {} notice for null sender dropped", m.id(), notice.kind().action);
            return;
        }
        Envelope env = new Envelope(ReversePath.NULL, List.of(new Recipient(m.envelope().sender().address(), "NEVER", null)),
                "8BITMIME".equals(m.envelope().body()) ? "8BITMIME" : null, m.envelope().smtpUtf8(), null, null,
                hostname, "127.0.0.1", null, now);
        try {
            QueuedMessage dsn = queueOwn(env, out -> {
                try (InputStream original = spool.openContent(m.id())) {
                    DsnWriter.write(out, notice.kind(), hostname, m, notice.entries(), now,
                            m.envelope().arrival().plus(times.maxLifetime()), original);
                }
            });
            log.info("{}: sender {} notification: {}", m.id(), notice.kind().action, dsn.id());
        } catch (IOException e) {
            log.error("{}: cannot queue {} notification: {}", m.id(), notice.kind().action, e.toString());
        }
    }

    /** Writes the content of a message of our own (signed), commits it through the intake, and returns it. */
    QueuedMessage queueOwn(Envelope env, Content content) throws IOException {
        Intake in = queue.receive(env);
        in.asNotice();
        ContentSigner.Session signing = signer.begin();
        try (OutputStream out = new IntakeStream(in, signing)) {
            content.writeTo(out);
        } catch (IOException | RuntimeException e) {
            in.abort();
            throw e;
        }
        byte[] signature = signing.finish();
        if (signature.length > 0) in.prepend(signature);
        return in.commit(null);
    }

    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /** An OutputStream view of a message being written through the intake. */
    private static final class IntakeStream extends OutputStream {
        private final Intake in;
        private final ContentSigner.Session signing;

        IntakeStream(Intake in, ContentSigner.Session signing) {
            this.in = in;
            this.signing = signing;
        }

        @Override public void write(int b) throws IOException { write(new byte[] {(byte) b}, 0, 1); }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            in.write(b, off, len);
            signing.update(b, off, len);
        }
    }
}
