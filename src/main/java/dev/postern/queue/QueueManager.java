package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.deliver.SmtpDelivery;
import dev.postern.mail.ContentSigner;
import dev.postern.mail.Envelope;
import dev.postern.mail.Outcome;
import dev.postern.mail.Recipient;
import dev.postern.mail.Reply;
import dev.postern.mail.ReversePath;
import dev.postern.queue.RecipientState.Status;
import dev.postern.route.MxRouter;
import dev.postern.route.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The queue manager: knows every queued message, starts attempts when they are due (time from the injected
 * clock), and turns each attempt's per-recipient outcomes into state — delivered, deferred with backoff,
 * failed — plus the delivery status notifications the sender asked for (RFC 3461). A message leaves the
 * spool when every recipient is final.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    public record Times(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, Duration delayWarning) {
        public static final Times DEFAULT = new Times(Duration.ofSeconds(300), Duration.ofSeconds(4000),
                Duration.ofDays(5), Duration.ofHours(4));

        Backoff backoff() { return new Backoff(minBackoff, maxBackoff); }
    }

    private final Spool spool;
    private final DeliveryDispatcher dispatcher;
    private final String hostname;
    private final Clock clock;
    private final Times times;
    private final ExecutorService workers;
    private final ScheduledExecutorService ticker;
    private final Map<String, QueuedMessage> messages = new ConcurrentHashMap<>();
    private final Map<String, Boolean> inFlight = new ConcurrentHashMap<>();
    private final Map<String, Boolean> recovered = new ConcurrentHashMap<>();
    private final AtomicInteger running = new AtomicInteger();

    private volatile ContentSigner noticeSigner = ContentSigner.NONE;

    public QueueManager(Spool spool, Router router, MaildirWriter maildir, MxRouter mx, SmtpDelivery smtp,
                        String hostname, Clock clock, Times times, int destinationConcurrency, int maxConcurrency) {
        this.spool = spool;
        this.dispatcher = new DeliveryDispatcher(spool, router, maildir, mx, smtp, destinationConcurrency, maxConcurrency);
        this.hostname = hostname;
        this.clock = clock;
        this.times = times;
        AtomicInteger n = new AtomicInteger();
        // local deliveries and remote ones waiting for a destination slot may all be busy at once
        this.workers = Executors.newFixedThreadPool(maxConcurrency + 8, r -> {
            Thread t = new Thread(r, "delivery-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "queue-ticker");
            t.setDaemon(true);
            return t;
        });
    }

    /** Loads the spool (once, at start) and starts the once-a-second scan for due messages. */
    public int recover() throws IOException {
        List<QueuedMessage> found = spool.recover();
        for (QueuedMessage m : found) {
            log.info("{}: recovered from queue, nrcpt={}{}", m.id(), m.recipients().size(), m.held() ? ", on hold" : "");
            messages.put(m.id(), m);
            recovered.put(m.id(), true);
        }
        tick();
        ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        return found.size();
    }

    /** A freshly committed message: attempt it right away. */
    public void submit(QueuedMessage m) {
        messages.put(m.id(), m);
        if (!m.held()) dispatch(m.id());
    }

    /**
     * Puts a just-committed message on hold before it is acknowledged (DMARC quarantine): the hold is durable
     * before the client hears 250. Blocks on the disk; returns the held message to {@link #submit}.
     */
    public QueuedMessage holdOnArrival(QueuedMessage m, String reason) throws IOException {
        QueuedMessage held = m.withHeld(true);
        spool.saveState(held);
        log.info("{}: held on arrival: {}", m.id(), reason);
        return held;
    }

    /** Starts every message whose next attempt is due by the clock. Called each second, and by tests. */
    public void tick() {
        Instant now = clock.instant();
        for (QueuedMessage m : messages.values()) {
            Instant next = m.nextAttempt();
            if (!m.held() && (next == null || !next.isAfter(now))) dispatch(m.id());
        }
    }

    /** Counters for the metrics endpoint. */
    public Map<String, Long> stats() {
        return Map.of("postern_queue_messages", (long) messages.size(), "postern_queue_attempts_running", (long) running.get());
    }

    /** Attempts started and not finished; for tests and metrics. */
    public int pending() { return running.get(); }

    private void dispatch(String id) {
        if (inFlight.putIfAbsent(id, true) != null) return;
        running.incrementAndGet();
        workers.execute(() -> {
            try {
                QueuedMessage m = messages.get(id);
                if (m != null && !m.held()) attempt(m, recovered.remove(id) != null);
            } catch (RuntimeException e) {
                log.error("{}: delivery attempt failed unexpectedly", id, e);
            } finally {
                inFlight.remove(id);
                running.decrementAndGet();
            }
        });
    }

    private void attempt(QueuedMessage m, boolean wasRecovered) {
        Map<Integer, Outcome> outcomes = dispatcher.attempt(m, wasRecovered);
        Instant now = clock.instant();
        List<RecipientState> states = new ArrayList<>(m.recipients());
        List<DsnWriter.Entry> failed = new ArrayList<>(), delayed = new ArrayList<>(), succeeded = new ArrayList<>();
        for (var e : outcomes.entrySet()) {
            int i = e.getKey();
            Outcome o = e.getValue();
            RecipientState before = states.get(i);
            RecipientState after = apply(m, before, o, now);
            String diagnostic = o.reply().toString();
            String remote = o.relay().equals("local") || o.relay().equals("none") ? null : o.relay();
            if (after.status() == Status.FAILED && wants(before.recipient(), "FAILURE", true)) {
                failed.add(new DsnWriter.Entry(after, "failed", statusOf(o.reply(), "5.0.0", true), after.lastReply(), remote));
            } else if (after.status() == Status.DELIVERED && wants(before.recipient(), "SUCCESS", false) && !o.dsnPassedOn()) {
                // RFC 3461 6.2.6: "relayed" when the next hop will not report success itself
                String action = o.relay().equals("local") ? "delivered" : "relayed";
                succeeded.add(new DsnWriter.Entry(after, action, statusOf(o.reply(), "2.0.0", false), diagnostic, remote));
            } else if (after.status() == Status.DEFERRED && !after.delayWarned() && wants(before.recipient(), "DELAY", false)
                    && !Duration.between(m.envelope().arrival(), now).minus(times.delayWarning()).isNegative()) {
                after = after.withDelayWarned();
                delayed.add(new DsnWriter.Entry(after, "delayed", statusOf(o.reply(), "4.0.0", false), diagnostic, remote));
            }
            states.set(i, after);
            logOutcome(m, before, after, o, now);
        }
        QueuedMessage updated = m.withRecipients(states);
        notifySender(updated, DsnWriter.Kind.FAILED, failed, now);
        notifySender(updated, DsnWriter.Kind.DELAYED, delayed, now);
        notifySender(updated, DsnWriter.Kind.SUCCESS, succeeded, now);
        record(updated);
    }

    /** The new state of one recipient after one outcome. */
    private RecipientState apply(QueuedMessage m, RecipientState s, Outcome o, Instant now) {
        int attempts = s.attempts() + 1;
        String reply = o.reply().toString();
        return switch (o.kind()) {
            case DELIVERED -> new RecipientState(s.recipient(), Status.DELIVERED, attempts, null, reply, o.relay(), s.delayWarned());
            case PERMANENT_FAILURE -> new RecipientState(s.recipient(), Status.FAILED, attempts, null, reply, o.relay(), s.delayWarned());
            case TEMPORARY_FAILURE -> {
                if (!Duration.between(m.envelope().arrival(), now).minus(times.maxLifetime()).isNegative()) {
                    // Postfix: "message expired", reported with the last temporary reason
                    yield new RecipientState(s.recipient(), Status.FAILED, attempts, null,
                            "message expired after " + times.maxLifetime().toDays() + " days; last error: " + reply, o.relay(), s.delayWarned());
                }
                yield new RecipientState(s.recipient(), Status.DEFERRED, attempts, now.plus(times.backoff().after(attempts)),
                        reply, o.relay(), s.delayWarned());
            }
        };
    }

    /** RFC 3461 4.1: NOTIFY absent means FAILURE (and, by our default, DELAY); NEVER means nothing. */
    private static boolean wants(Recipient r, String what, boolean byDefault) {
        if (r.notifyOn() == null) return byDefault || what.equals("DELAY");
        return r.notifyOn().contains(what);
    }

    private static String statusOf(Reply r, String dflt, boolean permanent) {
        if (r.enhanced() != null && (!permanent || r.enhanced().startsWith("5"))) return r.enhanced();
        return permanent && r.enhanced() != null ? "5" + r.enhanced().substring(1) : dflt;
    }

    private void logOutcome(QueuedMessage m, RecipientState before, RecipientState after, Outcome o, Instant now) {
        String status = switch (after.status()) {
            case DELIVERED -> "sent";
            case FAILED -> after.lastReply().startsWith("message expired") ? "expired" : "bounced";
            default -> "deferred";
        };
        log.info("{}: to=<{}>, relay={}, delay={}, dsn={}, status={} ({})", m.id(), before.recipient().address(), o.relay(),
                String.format(Locale.ROOT, "%.2f", Duration.between(m.envelope().arrival(), now).toMillis() / 1000.0),
                o.reply().enhanced(), status, after.lastReply());
    }

    /** Writes the state durably, or removes the message when every recipient is final. */
    private void record(QueuedMessage updated) {
        try {
            if (updated.isDone()) {
                spool.remove(updated.id());
                messages.remove(updated.id());
                log.info("{}: removed", updated.id());
            } else {
                spool.saveState(updated);
                messages.put(updated.id(), updated);
            }
        } catch (IOException e) {
            // the previous durable state stands; the attempt is repeated (Maildir writes are idempotent)
            log.error("{}: cannot record delivery state, will retry: {}", updated.id(), e.toString());
            recovered.put(updated.id(), true);
        }
    }

    /** Queues a notification to the sender; never for a null sender (RFC 5321 6.1: no bounce of a bounce). */
    private void notifySender(QueuedMessage m, DsnWriter.Kind kind, List<DsnWriter.Entry> entries, Instant now) {
        if (entries.isEmpty()) return;
        if (m.envelope().sender().isNull()) {
            log.info("{}: {} notice for null sender dropped", m.id(), kind.action);
            return;
        }
        Envelope env = new Envelope(ReversePath.NULL, List.of(new Recipient(m.envelope().sender().address(), "NEVER", null)),
                "8BITMIME".equals(m.envelope().body()) ? "8BITMIME" : null, m.envelope().smtpUtf8(), null, null,
                hostname, "127.0.0.1", null, now);
        try {
            QueuedMessage dsn = queueOwn(env, out -> {
                try (InputStream original = spool.openContent(m.id())) {
                    DsnWriter.write(out, kind, hostname, m, entries, now, m.envelope().arrival().plus(times.maxLifetime()), original);
                }
            });
            log.info("{}: sender {} notification: {}", m.id(), kind.action, dsn.id());
        } catch (IOException e) {
            log.error("{}: cannot queue {} notification: {}", m.id(), kind.action, e.toString());
        }
    }

    /**
     * Queues a message this server wrote itself (a DMARC report): signed like notices, durable before this
     * returns, then delivered like any other. Returns its queue id.
     */
    public String inject(Envelope env, byte[] content) throws IOException {
        return queueOwn(env, out -> out.write(content)).id();
    }

    /** Writes the content of a message of our own (signed by the notice signer), commits it and submits it. */
    private QueuedMessage queueOwn(Envelope env, Content content) throws IOException {
        Spool.Incoming in = spool.begin(env);
        ContentSigner.Session signing = noticeSigner.begin();
        try (OutputStream out = new IncomingStream(in, signing)) {
            content.writeTo(out);
        } catch (IOException | RuntimeException e) {
            in.abort();
            throw e;
        }
        byte[] signature = signing.finish();
        if (signature.length > 0) in.prepend(signature);
        QueuedMessage m = in.commit();
        submit(m);
        return m;
    }

    private interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    // ------------------------------------------------------------------ administration

    /** All queued messages, oldest first. */
    public List<QueuedMessage> list() {
        return messages.values().stream().sorted(Comparator.comparing(q -> q.envelope().arrival())).toList();
    }

    public QueuedMessage get(String id) { return messages.get(id); }

    /** Makes every deferred message due now (postqueue -f). */
    public void flush() {
        for (String id : messages.keySet()) retry(id);
    }

    /** Makes one message due now. Returns false when no such message. */
    public boolean retry(String id) {
        QueuedMessage m = messages.computeIfPresent(id, (k, q) -> q.withRecipients(q.recipients().stream().map(RecipientState::dueNow).toList()));
        if (m == null) return false;
        if (!m.held()) dispatch(id);
        return true;
    }

    public boolean hold(String id) { return setHeld(id, true); }

    public boolean release(String id) {
        boolean ok = setHeld(id, false);
        if (ok) retry(id);
        return ok;
    }

    private boolean setHeld(String id, boolean held) {
        QueuedMessage m = messages.computeIfPresent(id, (k, q) -> q.withHeld(held));
        if (m == null) return false;
        try {
            spool.saveState(m);
        } catch (IOException e) {
            throw new IllegalStateException("cannot record hold state: " + e.getMessage(), e);
        }
        log.info("{}: {}", id, held ? "held by administrator" : "released by administrator");
        return true;
    }

    /** Deletes a message without notice (postsuper -d). */
    public boolean delete(String id) throws IOException {
        QueuedMessage m = messages.remove(id);
        if (m == null) return false;
        spool.remove(id);
        log.info("{}: deleted by administrator", id);
        return true;
    }

    /** Fails every pending recipient now and tells the sender (like Postfix's postsuper -r to a bounce). */
    public boolean bounce(String id) {
        QueuedMessage m = messages.get(id);
        if (m == null) return false;
        Instant now = clock.instant();
        Reply r = Reply.of(550, "5.0.0", "message returned by the administrator");
        List<RecipientState> states = new ArrayList<>();
        List<DsnWriter.Entry> entries = new ArrayList<>();
        for (RecipientState s : m.recipients()) {
            if (s.isFinal()) {
                states.add(s);
                continue;
            }
            RecipientState f = new RecipientState(s.recipient(), Status.FAILED, s.attempts(), null, r.toString(), s.relay(), s.delayWarned());
            states.add(f);
            entries.add(new DsnWriter.Entry(f, "failed", "5.0.0", r.toString(), null));
            log.info("{}: to=<{}>, relay=none, dsn=5.0.0, status=bounced ({})", id, s.recipient().address(), r);
        }
        QueuedMessage updated = m.withRecipients(states);
        notifySender(updated, DsnWriter.Kind.FAILED, entries, now);
        record(updated);
        return true;
    }

    @Override public void close() {
        ticker.shutdownNow();
        workers.shutdownNow();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An OutputStream view of a message being written to the spool. */
    private static final class IncomingStream extends OutputStream {
        private final Spool.Incoming in;
        private final ContentSigner.Session signing;

        IncomingStream(Spool.Incoming in, ContentSigner.Session signing) {
            this.in = in;
            this.signing = signing;
        }

        @Override public void write(int b) throws IOException { write(new byte[] {(byte) b}, 0, 1); }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            in.write(b, off, len);
            signing.update(b, off, len);
        }
    }

    /** Signs the delivery notices this queue writes (DKIM for the host name's domain); none by default. */
    public void signNoticesWith(ContentSigner signer) { this.noticeSigner = signer; }
}
