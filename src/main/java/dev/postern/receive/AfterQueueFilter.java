package dev.postern.receive;

import dev.postern.filter.FilteredMessage;
import dev.postern.filter.MilterSession;
import dev.postern.filter.Milters;
import dev.postern.mail.Envelope;
import dev.postern.queue.Intake;
import dev.postern.queue.Queue;
import dev.postern.queue.QueuedMessage;
import dev.postern.store.StateFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * [milter] after_queue: the client gets its 250 as soon as the message is queued — held, and its id in
 * {@code <data_dir>/milter-pending.db} before the 250 — and the milters see it afterwards. Their verdict
 * then decides: continue releases it; a reject bounces it with the milter's reply; discard deletes it;
 * quarantine leaves it held; changes (header fields, body, envelope) queue the filtered message in its
 * place; a temporary failure tries again in a minute. Pending ids left by a crash are filtered at start.
 */
final class AfterQueueFilter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.milter");
    static final String FORMAT = "postern-milter-pending 1";
    static final String AWAITING = "awaiting the milters (after_queue)";

    private final Milters milters;
    private final Queue queue;
    private final Path pendingFile;
    private final String hostname;
    private final Set<String> pending = new LinkedHashSet<>();
    private final ScheduledExecutorService retries;

    AfterQueueFilter(Milters milters, Queue queue, Path pendingFile, String hostname) throws IOException {
        this.milters = milters;
        this.queue = queue;
        this.pendingFile = pendingFile;
        this.hostname = hostname;
        pending.addAll(StateFiles.readVersioned(pendingFile, FORMAT, "move it away, or use the release that wrote it"));
        this.retries = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "milter-after-queue");
            t.setDaemon(true);
            return t;
        });
    }

    /** Before the 250: the message will be filtered even if the server stops now (durable when this returns). */
    synchronized void expect(String id) throws IOException {
        pending.add(id);
        StateFiles.writeVersioned(pendingFile, FORMAT, new ArrayList<>(pending));
    }

    private synchronized void done(String id) {
        if (!pending.remove(id)) return;
        try {
            StateFiles.writeVersioned(pendingFile, FORMAT, new ArrayList<>(pending));
        } catch (IOException e) {
            log.warn("{}: cannot update {}: {}; it is filtered again after a restart", id, pendingFile, e.toString());
        }
    }

    /** After the 250: filter it on a milter thread. */
    void filterLater(String id) {
        milters.threads().execute(() -> filter(id));
    }

    /** At start: every id a crash left pending is filtered (or forgotten when the message is gone). */
    void resume() {
        List<String> ids;
        synchronized (this) {
            ids = new ArrayList<>(pending);
        }
        for (String id : ids) filterLater(id);
    }

    private void filter(String id) {
        QueuedMessage m = queue.get(id);
        if (m == null) {
            done(id); // delivered, deleted or bounced meanwhile
            return;
        }
        Envelope env = m.envelope();
        InetAddress client = null;
        try {
            client = env.clientAddress() == null ? null : InetAddress.getByName(env.clientAddress());
        } catch (IOException ignored) {
            // unknown client: the milter is told so
        }
        MilterSession session = milters.session(Runnable::run, new MilterSession.Client(client, 0,
                client == null ? "unknown" : client.getHostAddress(), hostname));
        try {
            MilterSession.Verdict v = session.helo(env.heloName() == null ? "unknown" : env.heloName(), Map.of()).join();
            if (v.refusal() == null) {
                v = session.mail("<" + env.sender() + ">", List.of(), Map.of("{mail_addr}", env.sender().toString())).join();
            }
            for (int i = 0; i < env.recipients().size() && v.refusal() == null; i++) {
                String rcpt = env.recipients().get(i).address().toString();
                v = session.rcpt("<" + rcpt + ">", List.of(), Map.of("{rcpt_addr}", rcpt)).join();
            }
            if (v.refusal() == null) v = session.data(Map.of("i", id)).join();
            if (v.refusal() != null) {
                decided(id, v, null);
                return;
            }
            MilterSession.Result r = session.message(FilteredMessage.read(() -> queue.content(id)), Map.of("i", id)).join();
            decided(id, r.verdict(), r);
        } catch (IOException | RuntimeException e) {
            log.warn("{}: after-queue milters failed: {}; trying again in a minute", id, e.toString());
            retries.schedule(() -> filterLater(id), 1, TimeUnit.MINUTES);
        } finally {
            session.close();
        }
    }

    /** Acts on the verdict; r is null when the message never reached end of message. */
    private void decided(String id, MilterSession.Verdict v, MilterSession.Result r) throws IOException {
        if (v.refusal() != null && !v.refusal().isPermanent()) {
            log.info("{}: after-queue milters: {}; trying again in a minute", id, v.refusal());
            retries.schedule(() -> filterLater(id), 1, TimeUnit.MINUTES);
            return;
        }
        if (v.refusal() != null) {
            log.info("{}: after-queue milters refused it ({}): returned to the sender", id, v.refusal());
            queue.bounce(id, v.refusal());
        } else if (v.discard()) {
            log.info("{}: after-queue milters discarded it", id);
            queue.delete(id);
        } else if (r.message().modified() || r.newSender() != null || !r.addedRecipients().isEmpty() || !r.removedRecipients().isEmpty()) {
            String replaced = requeue(id, r);
            log.info("{}: after-queue milters changed it: queued as {}{}", id, replaced, r.quarantine() == null ? "" : ", held: " + r.quarantine());
            queue.delete(id);
        } else if (r.quarantine() != null) {
            log.info("{}: after-queue milters quarantined it: {}", id, r.quarantine());
        } else {
            queue.release(id);
        }
        done(id);
    }

    /**
     * The filtered message as a queue entry of its own (its trace field was in the content the milters saw),
     * committed before the original is deleted: a crash between the two leaves a copy, never a loss.
     */
    private String requeue(String id, MilterSession.Result r) throws IOException {
        QueuedMessage original = queue.get(id);
        if (original == null) throw new IOException("message " + id + " left the queue while the milters read it");
        Envelope env = MilterStage.changed(original.envelope(), r);
        Intake intake = queue.receive(env);
        try {
            byte[] head = r.message().headerBytes();
            intake.write(head, 0, head.length);
            try (InputStream body = r.message().body().open()) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = body.read(buf)) > 0; ) intake.write(buf, 0, n);
            }
            return intake.commit(r.quarantine()).id();
        } catch (IOException | RuntimeException e) {
            intake.abort();
            throw e;
        }
    }

    @Override public void close() {
        retries.shutdownNow();
        milters.close();
    }
}
