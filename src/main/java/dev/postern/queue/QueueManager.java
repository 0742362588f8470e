package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.deliver.SmtpDelivery;
import dev.postern.mail.ContentSigner;
import dev.postern.mail.Envelope;
import dev.postern.mail.Reply;
import dev.postern.mail.Outcome;
import dev.postern.route.MxRouter;
import dev.postern.route.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The queue manager. One owner thread holds every queued message's state and a priority queue by next
 * attempt; it sleeps until the earliest due message or an event, and applies every change in the order it
 * was posted: new messages from the {@link Intake}, attempt outcomes from delivery workers, and
 * hold/release/delete/bounce/retry from the administrator. Nothing else writes queue state, so an
 * administrator's hold or delete issued while an attempt runs wins over that attempt's outcome (the outcome
 * is applied to the message as it is when it arrives, not to the snapshot the attempt started from).
 *
 * <p>Durable writes leave the owner thread: each message has its own chain of writes, run in order on the
 * writer pool, so a slow disk never stalls scheduling and two writes of one message never reorder.
 */
public final class QueueManager implements Queue {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");
    /** The owner wakes at least this often while something is scheduled (a wall clock may jump). */
    private static final long MAX_SLEEP_MILLIS = 60_000;

    public record Times(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, Duration delayWarning) {
        public static final Times DEFAULT = new Times(Duration.ofSeconds(300), Duration.ofSeconds(4000),
                Duration.ofDays(5), Duration.ofHours(4));

        Backoff backoff() { return new Backoff(minBackoff, maxBackoff); }

        Times withBackoff(Duration min, Duration max) {
            return new Times(min == null ? minBackoff : min, max == null ? maxBackoff : max, maxLifetime, delayWarning);
        }
    }

    /**
     * A priority class's settings ([queue.classes.NAME]): the percent of the delivery threads kept for it, and
     * its own backoff (null: the queue's).
     */
    public record ClassSettings(int share, Duration minBackoff, Duration maxBackoff) {
        /** Notices 10%, submission 20%, relay 20%, bulk 10% reserved; the other 40% shared. */
        public static final Map<PriorityClass, ClassSettings> DEFAULTS = Map.of(
                PriorityClass.NOTICES, new ClassSettings(10, null, null), PriorityClass.SUBMISSION, new ClassSettings(20, null, null),
                PriorityClass.RELAY, new ClassSettings(20, null, null), PriorityClass.BULK, new ClassSettings(10, null, null));

        /** Each class's reserved share of the delivery threads, percent. */
        static Map<PriorityClass, Integer> shares(Map<PriorityClass, ClassSettings> classes) {
            Map<PriorityClass, Integer> out = new java.util.EnumMap<>(PriorityClass.class);
            classes.forEach((c, s) -> out.put(c, s.share()));
            return out;
        }

        /** Each class's retry times: the queue's, with the class's own backoff where it has one. */
        static Map<PriorityClass, Times> times(Map<PriorityClass, ClassSettings> classes, Times queue) {
            Map<PriorityClass, Times> out = new java.util.EnumMap<>(PriorityClass.class);
            classes.forEach((c, s) -> out.put(c, queue.withBackoff(s.minBackoff(), s.maxBackoff())));
            return out;
        }
    }

    /** One message as the owner knows it. Touched only by the owner thread. */
    private static final class Entry {
        QueuedMessage message;
        boolean inFlight;
        boolean recovered;          // an earlier run may have delivered some of it: check Maildirs first
        boolean retryAfterAttempt;  // retry asked for while an attempt ran
        PriorityClass priority = PriorityClass.RELAY;
        long generation;            // a Due with an older generation is stale
        CompletableFuture<Void> writes = CompletableFuture.completedFuture(null);

        Entry(QueuedMessage m) { this.message = m; }
    }

    private record Due(Instant at, String id, long generation) {}

    private interface IoTask {
        CompletableFuture<Void> run() throws IOException;
    }

    private final Spool spool;
    private final DeliveryDispatcher dispatcher;
    private final Clock clock;
    private volatile Times times;
    private volatile Map<PriorityClass, Times> classTimes = Map.of();
    private final Notices notices;
    private final ExecutorService workers;
    private final DeliverySlots slots;
    private final DeliveryCounters counters = new DeliveryCounters();
    private final ExecutorService writers;
    private final Thread owner;
    /** Events not yet applied; attempts running and their writes not yet durable count as unsettled too. */
    private final OwnerEvents events = new OwnerEvents();
    private final AtomicInteger attempting = new AtomicInteger();
    /** Writes chained and not finished: close() lets them finish before it stops the writer pool. */
    private final AtomicInteger writesPending = new AtomicInteger();
    private volatile boolean closed;

    // the owner's state
    private final Map<String, Entry> entries = new HashMap<>();
    private final PriorityQueue<Due> due = new PriorityQueue<>(Comparator.comparing(Due::at));
    /** What readers (queue list/show, metrics) see; published by the owner, read by anyone. */
    private final Map<String, QueuedMessage> view = new ConcurrentHashMap<>();

    public QueueManager(Spool spool, Router router, MaildirWriter maildir, MxRouter mx, SmtpDelivery smtp,
                        String hostname, Clock clock, Times times, int destinationConcurrency, int maxConcurrency) {
        this(spool, router, maildir, mx, smtp, hostname, clock, times, destinationConcurrency, maxConcurrency, ClassSettings.DEFAULTS);
    }

    public QueueManager(Spool spool, Router router, MaildirWriter maildir, MxRouter mx, SmtpDelivery smtp,
                        String hostname, Clock clock, Times times, int destinationConcurrency, int maxConcurrency,
                        Map<PriorityClass, ClassSettings> classes) {
        this.spool = spool;
        this.dispatcher = new DeliveryDispatcher(spool, router, maildir, mx, smtp, destinationConcurrency, maxConcurrency);
        this.clock = clock;
        this.times = times;
        this.notices = new Notices(this, spool, hostname, times);
        // local deliveries and remote ones waiting for a destination slot may all be busy at once
        this.workers = Executors.newFixedThreadPool(maxConcurrency + 8, named("delivery-"));
        this.slots = new DeliverySlots(workers, maxConcurrency + 8, Map.of());
        reconfigure(times, classes);
        // a state write waits on fsync (or a group commit): several at once share one
        this.writers = Executors.newFixedThreadPool(8, named("queue-write-"));
        this.owner = new Thread(this::run, "queue-owner");
        owner.setDaemon(true);
        owner.start();
    }

    static java.util.concurrent.ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ------------------------------------------------------------------ the doors

    /** Starts receiving a message: the one way into the queue (SMTP, notices, reports). */
    @Override public boolean intakeMayBlock() { return spool.writesMayBlock(); }

    @Override public Intake receive(Envelope envelope) throws IOException {
        return new Intake(spool.begin(envelope), envelope, (m, c) -> enqueue(m, false, c));
    }

    /** Loads the spool (once, at start); recovered messages are attempted at once. */
    public int recover() throws IOException {
        List<QueuedMessage> found = spool.recover();
        for (QueuedMessage m : found) {
            // a notice's class needs no header; any other message's header is read as far as it goes
            PriorityClass c = PriorityClass.of(m.envelope(), false, !m.envelope().sender().isNull() && bulkHeader(m.id()));
            log.info("{}: recovered from queue, nrcpt={}, class={}{}", m.id(), m.recipients().size(), c.configName(), m.held() ? ", on hold" : "");
            enqueue(m, true, c);
        }
        return found.size();
    }

    /** Whether a queued message's header says bulk (read again at start: the class is not stored). */
    private boolean bulkHeader(String id) {
        PrecedenceSniffer p = new PrecedenceSniffer();
        byte[] b = new byte[4096];
        try (java.io.InputStream in = spool.openContent(id)) {
            int n, seen = 0;
            while (!p.done() && seen < 64 * 1024 && (n = in.read(b)) > 0) { // the header only, as far as 64 KiB
                p.accept(b, 0, n);
                seen += n;
            }
        } catch (IOException e) {
            log.warn("{}: cannot read its header for its priority class ({}); delivered as relay", id, e.toString());
        }
        return p.bulk();
    }

    /** A durable message joins the queue (from the intake or recovery). */
    void enqueue(QueuedMessage m, boolean recovered, PriorityClass priority) {
        view.put(m.id(), m); // visible to queue show as soon as the client may hear its id
        post(() -> {
            Entry en = new Entry(m);
            en.recovered = recovered;
            en.priority = priority;
            entries.put(m.id(), en);
            schedule(m.id(), en);
        });
    }

    /** Queues a message this server wrote itself (a DMARC report), signed like notices. Returns its queue id. */
    @Override public String inject(Envelope env, byte[] content) throws IOException {
        return notices.queueOwn(env, out -> out.write(content)).id();
    }

    /** Signs the delivery notices this queue writes (DKIM for the host name's domain); none by default. */
    @Override public void signNoticesWith(ContentSigner signer) { notices.signWith(signer); }

    @Override public void rewriteForwardedSenders(SenderRewriter r) { dispatcher.rewriteForwardedSenders(r); }

    @Override public SmtpDelivery useDelivery(SmtpDelivery next) { return dispatcher.useDelivery(next); }

    /**
     * New retry times and priority classes (a configuration reload): outcomes recorded from now on use them;
     * attempts already scheduled keep their time.
     */
    @Override public void reconfigure(Times times, Map<PriorityClass, ClassSettings> classes) {
        this.times = times;
        this.classTimes = ClassSettings.times(classes, times);
        slots.reserve(ClassSettings.shares(classes));
    }

    // ------------------------------------------------------------------ the owner

    private void post(Runnable event) { events.post(event); }

    private void run() {
        while (!closed) {
            try {
                // after each event, start what became due; with none, what fell due while asleep
                if (!events.applyWaiting(sleepMillis(), this::startDue)) startDue();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.error("queue owner: unexpected error", e);
            }
        }
    }

    /** Until the earliest scheduled attempt; an idle queue costs no CPU however many messages wait. */
    private long sleepMillis() {
        Due head = due.peek();
        if (head == null) return MAX_SLEEP_MILLIS;
        return Math.max(0, Math.min(MAX_SLEEP_MILLIS, Duration.between(clock.instant(), head.at()).toMillis()));
    }

    private void startDue() {
        Instant now = clock.instant();
        while (!due.isEmpty() && !due.peek().at().isAfter(now)) {
            Due d = due.poll();
            Entry en = entries.get(d.id());
            if (en != null && en.generation == d.generation()) start(d.id(), en);
        }
    }

    /** After any change: start the message now, schedule it, or leave it (held, running, done). */
    private void schedule(String id, Entry en) {
        en.generation++;
        QueuedMessage m = en.message;
        if (en.inFlight || m.held() || m.isDone()) return;
        Instant next = m.nextAttempt();
        if (next == null || !next.isAfter(clock.instant())) start(id, en);
        else due.add(new Due(next, id, en.generation));
    }

    private void start(String id, Entry en) {
        en.inFlight = true;
        boolean recovered = en.recovered;
        en.recovered = false;
        QueuedMessage snapshot = en.message;
        attempting.incrementAndGet();
        events.begin();
        slots.submit(en.priority, new DeliverySlots.Attempt(() -> {
            Map<Integer, Outcome> o = dispatcher.attemptOrDefer(snapshot, recovered);
            post(() -> finished(id, o));
        }, this::settled)); // rejected: shutting down
    }

    private void settled() {
        attempting.decrementAndGet();
        events.settle();
    }

    /** An attempt's outcome, applied to the message as it is now. */
    private void finished(String id, Map<Integer, Outcome> outcomes) {
        Entry en = entries.get(id);
        if (en == null) {
            log.info("{}: attempt ended after the message left the queue; its outcome is dropped", id);
            settled();
            return;
        }
        en.inFlight = false;
        Instant now = clock.instant();
        OutcomeRules.Result r = OutcomeRules.apply(en.message, outcomes, now, classTimes.getOrDefault(en.priority, times));
        en.message = r.updated();
        counters.count(r.updated(), outcomes.keySet());
        if (en.retryAfterAttempt) {
            en.retryAfterAttempt = false;
            en.message = OutcomeRules.dueNow(en.message);
        }
        record(id, en, r.notices(), now).whenComplete((v, err) -> {
            if (err != null) {
                // the previous durable state stands; the next attempt checks Maildirs first (writes are idempotent)
                log.error("{}: cannot record delivery state, will retry: {}", id, cause(err).toString());
                post(() -> {
                    Entry e = entries.get(id);
                    if (e != null) e.recovered = true;
                });
            }
            settled();
        });
        schedule(id, en);
    }

    /**
     * Publishes the entry's new state and chains its durable record: notices first (a crash between them
     * repeats a notice rather than losing it), then the state, or the removal when every recipient is final.
     */
    private CompletableFuture<Void> record(String id, Entry en, List<OutcomeRules.Notice> toSend, Instant now) {
        QueuedMessage m = en.message;
        if (m.isDone()) {
            entries.remove(id);
            view.remove(id);
        } else {
            view.put(id, m);
        }
        return chain(en, !toSend.isEmpty(), () -> {
            for (OutcomeRules.Notice n : toSend) notices.send(m, n, now);
            if (!m.isDone()) return spool.saveStateAsync(m);
            return spool.removeAsync(id).thenRun(() -> log.info("{}: removed", id));
        });
    }

    /**
     * Runs a write after every earlier write of the same message, on the writer pool; a group-committed
     * store's write returns at once and completes with its fsync, so no writer thread waits on the disk.
     * When the message's earlier writes are done and this one cannot block (no notice to write, a store
     * that only hands records to its writer thread), it runs right here instead of crossing to the pool.
     */
    private CompletableFuture<Void> chain(Entry en, boolean mayBlock, IoTask task) {
        CompletableFuture<Void> next = !mayBlock && en.writes.isDone() && !spool.writesMayBlock()
                ? start(task)
                : en.writes.handle((v, e) -> null).thenComposeAsync(v -> start(task), writers);
        writesPending.incrementAndGet();
        next.whenComplete((v, e) -> writesPending.decrementAndGet());
        en.writes = next;
        return next;
    }

    private static CompletableFuture<Void> start(IoTask task) {
        try {
            return task.run();
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static Throwable cause(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    // ------------------------------------------------------------------ reading

    /** Starts every message whose next attempt is due by the clock (tests move the clock, then call this). */
    @Override public void tick() { post(() -> { }); }

    /** All queued messages, oldest first. */
    @Override public List<QueuedMessage> list() {
        return view.values().stream().sorted(Comparator.comparing(q -> q.envelope().arrival())).toList();
    }

    @Override public QueuedMessage get(String id) { return view.get(id); }

    /** Counters for the metrics endpoint. */
    @Override public Map<String, Long> stats() {
        Map<String, Long> m = new HashMap<>(slots.stats());
        m.putAll(counters.stats());
        m.put("postern_queue_messages", (long) view.size());
        m.put("postern_queue_attempts_running", (long) attempting.get());
        return m;
    }

    /** Changes not yet applied plus attempts whose outcome is not yet durable; 0 when the queue is idle. */
    @Override public int pending() { return events.pending(); }

    // ------------------------------------------------------------------ administration

    /** Makes every deferred message due now (postqueue -f). */
    @Override public void flush() throws IOException {
        call(() -> {
            entries.forEach(this::retryNow);
            return CompletableFuture.completedFuture(true);
        });
    }

    /** Makes one message due now. Returns false when no such message. */
    @Override public boolean retry(String id) throws IOException {
        return call(() -> {
            Entry en = entries.get(id);
            if (en == null) return CompletableFuture.completedFuture(false);
            retryNow(id, en);
            return CompletableFuture.completedFuture(true);
        });
    }

    private void retryNow(String id, Entry en) {
        if (en.inFlight) {
            en.retryAfterAttempt = true;
            return;
        }
        en.message = OutcomeRules.dueNow(en.message);
        view.put(id, en.message);
        schedule(id, en);
    }

    /** Holds a message: no attempt starts until release; durable when this returns. */
    @Override public boolean hold(String id) throws IOException { return setHeld(id, true); }

    /** Releases a held message and makes it due now. */
    @Override public boolean release(String id) throws IOException { return setHeld(id, false); }

    private boolean setHeld(String id, boolean held) throws IOException {
        return call(() -> {
            Entry en = entries.get(id);
            if (en == null) return CompletableFuture.completedFuture(false);
            en.message = en.message.withHeld(held);
            if (!held) en.message = OutcomeRules.dueNow(en.message);
            log.info("{}: {}{}", id, held ? "held by administrator" : "released by administrator",
                    en.inFlight ? " (during an attempt, which will not undo it)" : "");
            view.put(id, en.message);
            QueuedMessage m = en.message;
            schedule(id, en);
            return chain(en, false, () -> spool.saveStateAsync(m)).thenApply(v -> true);
        });
    }

    /** Deletes a message without notice (postsuper -d); an attempt in progress is disowned. */
    @Override public boolean delete(String id) throws IOException {
        return call(() -> {
            Entry en = entries.remove(id);
            if (en == null) return CompletableFuture.completedFuture(false);
            view.remove(id);
            log.info("{}: deleted by administrator{}", id, en.inFlight ? " (during an attempt, whose outcome will be dropped)" : "");
            return chain(en, false, () -> spool.removeAsync(id)).thenApply(v -> true);
        });
    }

    /** Fails every pending recipient now and tells the sender (like Postfix's postsuper -r to a bounce). */
    @Override public boolean bounce(String id) throws IOException {
        return bounce(id, Reply.of(550, "5.0.0", "message returned by the administrator"));
    }

    @Override public java.io.InputStream content(String id) throws IOException { return spool.openContent(id); }

    @Override public boolean bounce(String id, Reply reason) throws IOException {
        return call(() -> {
            Entry en = entries.get(id);
            if (en == null) return CompletableFuture.completedFuture(false);
            OutcomeRules.Result r = OutcomeRules.returnToSender(en.message, reason);
            en.message = r.updated();
            CompletableFuture<Void> written = record(id, en, r.notices(), clock.instant());
            schedule(id, en);
            return written.thenApply(v -> true);
        });
    }

    /** Runs an action on the owner thread and waits for it and for the durable write it started. */
    private boolean call(Supplier<CompletableFuture<Boolean>> action) throws IOException {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        post(() -> {
            try {
                action.get().whenComplete((v, e) -> {
                    if (e != null) result.completeExceptionally(cause(e));
                    else result.complete(v);
                });
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
                throw e;
            }
        });
        try {
            return result.get(2, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().toString(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the queue did not answer within 2 minutes");
        }
    }

    /** Stops the owner first (no new writes), lets chained writes finish, then stops the pools. */
    @Override public void close() {
        closed = true;
        owner.interrupt();
        try {
            owner.join(5000);
            workers.shutdownNow();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (writesPending.get() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
            writers.shutdown();
            workers.awaitTermination(5, TimeUnit.SECONDS);
            writers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
