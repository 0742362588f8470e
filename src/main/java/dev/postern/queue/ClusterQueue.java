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
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The queue of a cluster node. PostgreSQL holds every message; this node's owner thread holds only the
 * messages it has leased: the ones it received (leased in the same commit, so they go out at once) and the
 * due ones it claims ({@code FOR UPDATE SKIP LOCKED}) whenever it has free delivery slots. It renews its
 * leases while it delivers and records each outcome in one transaction that leaves alone what an
 * administrator changed meanwhile. When the database is away, outcomes wait in memory and are written when
 * it returns (the node's heartbeat keeps other nodes off its expired leases meanwhile), so nothing is
 * delivered twice because of an outage; a node that dies stops beating, and its leases pass to the others.
 *
 * <p>Attempts start by priority class ({@link DeliverySlots}, as on a single node), and the class is stored with
 * the message, so claims too ask each class first for its reserved slots still free here.
 */
public final class ClusterQueue implements Queue {
    private final DeliveryCounters counters = new DeliveryCounters();
    private static final Logger log = LoggerFactory.getLogger("postern.queue");
    private static final Duration POLL = Duration.ofSeconds(1);

    private final PgQueueStore store;
    private final DeliveryDispatcher dispatcher;
    private final Clock clock;
    private volatile QueueManager.Times times;
    private volatile Map<PriorityClass, QueueManager.Times> classTimes = Map.of();
    private final Duration lease;
    /** Attempts that may run at once, and how many leased messages this node takes on. */
    private final int slots;
    private final DeliverySlots classSlots;
    private final Notices notices;
    private final ExecutorService workers;
    private final ExecutorService writers;
    private final Thread owner;
    private final OwnerEvents events = new OwnerEvents();
    private final AtomicInteger attempting = new AtomicInteger();
    private volatile boolean closed;

    // the owner's state: messages leased by this node, by id, with their class
    private final Map<String, QueuedMessage> leased = new HashMap<>();
    private final Map<String, PriorityClass> classOf = new HashMap<>();
    /** Attempts handed to the class slots and not finished: waiting for a slot or running. */
    private final java.util.Set<String> inFlight = new java.util.HashSet<>();
    private final Map<PriorityClass, Integer> inFlightByClass = new java.util.EnumMap<>(PriorityClass.class);
    private final List<String> parked = new ArrayList<>();          // attempts abandoned while the database was away
    private boolean claiming;
    private boolean lastClaimFull;
    private Instant nextClaim = Instant.EPOCH;
    private Instant nextRenew = Instant.EPOCH;
    private long claimFailures;
    /** A commit failed: it may have committed all the same (its answer lost), leased to this node that knows nothing of it. */
    private boolean orphansPossible;

    public ClusterQueue(PgQueueStore store, Router router, MaildirWriter maildir, MxRouter mx, SmtpDelivery smtp,
                        String hostname, Clock clock, QueueManager.Times times, Duration lease,
                        int destinationConcurrency, int maxConcurrency, Map<PriorityClass, QueueManager.ClassSettings> classes) throws IOException {
        this.store = store;
        this.dispatcher = new DeliveryDispatcher(store, router, maildir, mx, smtp, destinationConcurrency, maxConcurrency);
        this.clock = clock;
        this.lease = lease;
        this.slots = maxConcurrency + 8;
        this.notices = new Notices(this, store, hostname, times);
        this.workers = Executors.newFixedThreadPool(slots, QueueManager.named("delivery-"));
        this.classSlots = new DeliverySlots(workers, slots, Map.of());
        for (PriorityClass c : PriorityClass.values()) inFlightByClass.put(c, 0);
        reconfigure(times, classes);
        this.writers = Executors.newFixedThreadPool(16, QueueManager.named("queue-write-"));
        int released = store.releaseMine();
        if (released > 0) log.info("{} lease(s) of an earlier run of node {} released", released, store.node());
        this.owner = new Thread(this::run, "queue-owner");
        owner.setDaemon(true);
        owner.start();
    }

    // ------------------------------------------------------------------ intake

    @Override public Intake receive(Envelope envelope) {
        // leased to this node in the same commit: it goes out from here at once, unless this node dies first
        return new Intake(store.beginLeased(envelope, clock.instant().plus(lease)), envelope, (m, c) -> post(() -> arrived(m, c)),
                () -> post(() -> orphansPossible = true));
    }

    private void arrived(QueuedMessage m, PriorityClass c) {
        if (m.held() || leased.containsKey(m.id())) return;
        leased.put(m.id(), m);
        classOf.put(m.id(), c);
        start(m, c, false);
    }

    /**
     * New retry times and priority classes (a configuration reload): the next attempts start by the new shares,
     * outcomes recorded from now on use the new times.
     */
    @Override public void reconfigure(QueueManager.Times times, Map<PriorityClass, QueueManager.ClassSettings> classes) {
        this.times = times;
        this.classTimes = QueueManager.ClassSettings.times(classes, times);
        classSlots.reserve(QueueManager.ClassSettings.shares(classes));
    }

    @Override public String inject(Envelope env, byte[] content) throws IOException {
        return notices.queueOwn(env, out -> out.write(content)).id();
    }

    @Override public void signNoticesWith(ContentSigner signer) { notices.signWith(signer); }

    @Override public void rewriteForwardedSenders(SenderRewriter r) { dispatcher.rewriteForwardedSenders(r); }

    @Override public SmtpDelivery useDelivery(SmtpDelivery next) { return dispatcher.useDelivery(next); }

    // ------------------------------------------------------------------ the owner

    private void post(Runnable event) { events.post(event); }

    private void run() {
        while (!closed) {
            try {
                Instant now = clock.instant();
                // a claim is only worth waking for when one could start (none running, a slot free)
                Instant wake = !claiming && free() > 0 && nextClaim.isBefore(nextRenew) ? nextClaim : nextRenew;
                long wait = Math.max(0, Math.min(POLL.toMillis(), Duration.between(now, wake).toMillis()));
                events.applyWaiting(wait, () -> { });
                now = clock.instant();
                if (!now.isBefore(nextRenew)) renew(now);
                if (!now.isBefore(nextClaim) && !claiming && free() > 0) claim(now);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.error("queue owner: unexpected error", e);
            }
        }
    }

    private int free() { return slots - inFlight.size(); }

    /** Asks the database for due work, off the owner thread; the answer comes back as an event. */
    private void claim(Instant now) {
        claiming = true;
        int n = free();
        // each class's reserved slots not yet taken here: asked for first, so a bulk backlog does not fill every claim
        Map<PriorityClass, Integer> reserved = new java.util.EnumMap<>(PriorityClass.class);
        for (PriorityClass c : PriorityClass.values()) reserved.put(c, Math.max(0, classSlots.reserved(c) - inFlightByClass.get(c)));
        boolean orphans = orphansPossible;
        java.util.Set<String> known = orphans ? java.util.Set.copyOf(leased.keySet()) : java.util.Set.of();
        events.begin();
        try {
            writers.execute(() -> {
                try {
                    // leases this node holds on messages it does not know: give them back, so they go out now, not after the lease
                    if (orphans) {
                        int freed = store.releaseMineExcept(known, lease);
                        if (freed > 0) log.info("{} message(s) committed while their commit reported failure: due now", freed);
                        post(() -> orphansPossible = false);
                    }
                    List<PgQueueStore.Claimed> got = store.claim(n, reserved, clock.instant().plus(lease), lease);
                    post(() -> claimed(got, n));
                } catch (IOException e) {
                    post(() -> claimFailed(e));
                } finally {
                    events.settle();
                }
            });
        } catch (RejectedExecutionException e) {
            events.settle();
        }
    }

    private void claimed(List<PgQueueStore.Claimed> got, int asked) {
        claiming = false;
        if (claimFailures > 0) log.info("queue database reachable again; claiming work");
        claimFailures = 0;
        for (PgQueueStore.Claimed c : got) {
            QueuedMessage m = c.message();
            if (leased.containsKey(m.id())) continue;
            leased.put(m.id(), m);
            classOf.put(m.id(), c.priority());
            start(m, c.priority(), true);
        }
        // the database answers again: what could not be read from it is tried now, not after a backoff (a parked
        // message may have been half delivered before the database went away)
        for (String id : parked) {
            QueuedMessage m = leased.get(id);
            if (m != null) start(m, classOf.getOrDefault(id, PriorityClass.RELAY), true);
        }
        parked.clear();
        // a full batch means more is probably due: ask again at once
        lastClaimFull = got.size() == asked;
        nextClaim = lastClaimFull ? clock.instant() : clock.instant().plus(POLL);
    }

    private void claimFailed(IOException e) {
        claiming = false;
        if (claimFailures++ % 30 == 0) log.warn("cannot claim work from the queue database (deliveries paused): {}", e.getMessage());
        nextClaim = clock.instant().plus(POLL);
    }

    /** Extends the leases of everything this node holds, off the owner thread. */
    private void renew(Instant now) {
        nextRenew = now.plus(lease.dividedBy(3));
        List<String> ids = new ArrayList<>(leased.keySet());
        if (ids.isEmpty()) return;
        try {
            writers.execute(() -> {
                try {
                    store.renew(ids, clock.instant().plus(lease));
                } catch (IOException e) {
                    log.warn("cannot renew {} lease(s): {}", ids.size(), e.getMessage());
                }
            });
        } catch (RejectedExecutionException ignored) {
            // shutting down
        }
    }

    /** A slot came free: claim again at once only while the last claim found more due work than it could take. */
    private void claimAgainIfMoreDue() {
        if (lastClaimFull && free() > 0) nextClaim = clock.instant();
    }

    /** Hands an attempt to the class slots: it starts when its class may (at once, unless the threads are busy). */
    private void start(QueuedMessage m, PriorityClass c, boolean mayBeHalfDone) {
        inFlight.add(m.id());
        inFlightByClass.merge(c, 1, Integer::sum);
        attempting.incrementAndGet();
        events.begin();
        classSlots.submit(c, new DeliverySlots.Attempt(() -> {
            Map<Integer, Outcome> outcomes;
            try {
                // work claimed from the database may have been half done by a node that died: Maildirs are checked first
                outcomes = dispatcher.attemptOrDefer(m, mayBeHalfDone);
            } catch (SpoolUnavailable.Abandoned e) {
                log.warn("{}: attempt abandoned, the queue database is unavailable: {}", m.id(), e.getMessage());
                post(() -> {
                    ended(m.id());
                    parked.add(m.id());
                    settled();
                });
                return;
            }
            post(() -> finished(m, outcomes));
        }, this::settled));
    }

    /** An attempt is over (its outcome may still be being written). */
    private void ended(String id) {
        if (inFlight.remove(id)) inFlightByClass.merge(classOf.getOrDefault(id, PriorityClass.RELAY), -1, Integer::sum);
    }

    private void settled() {
        attempting.decrementAndGet();
        events.settle();
    }

    /** An outcome: notices first, then the record, retried until the database takes it; the lease is kept meanwhile. */
    private void finished(QueuedMessage m, Map<Integer, Outcome> outcomes) {
        ended(m.id());
        Instant now = clock.instant();
        OutcomeRules.Result r = OutcomeRules.apply(m, outcomes, now, classTimes.getOrDefault(classOf.get(m.id()), times));
        counters.count(r.updated(), outcomes.keySet());
        try {
            writers.execute(() -> {
                for (OutcomeRules.Notice n : r.notices()) notices.send(m, n, now);
                boolean existed = recordUntilStored(r.updated());
                if (!existed) log.info("{}: attempt ended after the message left the queue; its outcome is dropped", m.id());
                else if (r.updated().isDone()) log.info("{}: removed", m.id());
                post(() -> {
                    leased.remove(m.id());
                    classOf.remove(m.id());
                    settled();
                    claimAgainIfMoreDue();
                });
            });
        } catch (RejectedExecutionException e) {
            settled();
        }
        claimAgainIfMoreDue();
    }

    private boolean recordUntilStored(QueuedMessage m) {
        long wait = 200;
        for (int tries = 0; ; tries++) {
            try {
                return store.recordOutcome(m);
            } catch (IOException e) {
                if (closed) {
                    log.error("{}: outcome not recorded at shutdown (the message will be tried again): {}", m.id(), e.getMessage());
                    return true;
                }
                if (tries % 20 == 0) log.warn("{}: cannot record the delivery outcome yet, will keep trying: {}", m.id(), e.getMessage());
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return true;
                }
                wait = Math.min(2000, wait * 2);
            }
        }
    }

    // ------------------------------------------------------------------ reading

    @Override public void tick() { post(() -> nextClaim = clock.instant()); }

    @Override public List<QueuedMessage> list() {
        try {
            return store.select("TRUE", null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override public QueuedMessage get(String id) {
        try {
            return store.get(id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override public Map<String, Long> stats() {
        Map<String, Long> out = new LinkedHashMap<>(counters.stats());
        out.putAll(classSlots.stats());
        out.put("postern_queue_attempts_running", (long) attempting.get());
        try {
            long total = 0;
            for (var e : store.counts().entrySet()) {
                out.put("postern_queue_messages_" + e.getKey(), e.getValue());
                total += e.getValue();
            }
            out.put("postern_queue_messages", total);
        } catch (IOException e) {
            out.put("postern_queue_database_up", 0L);
            return out;
        }
        out.put("postern_queue_database_up", 1L);
        return out;
    }

    @Override public int pending() { return events.pending(); }

    // ------------------------------------------------------------------ administration: the database decides

    @Override public void flush() throws IOException {
        store.retry(null);
        tick();
    }

    @Override public boolean retry(String id) throws IOException {
        boolean ok = store.retry(id);
        tick();
        return ok;
    }

    @Override public boolean hold(String id) throws IOException {
        boolean ok = store.setHeld(id, true);
        if (ok) log.info("{}: held by administrator", id);
        return ok;
    }

    @Override public boolean release(String id) throws IOException {
        boolean ok = store.setHeld(id, false);
        if (ok) log.info("{}: released by administrator", id);
        tick();
        return ok;
    }

    @Override public boolean delete(String id) throws IOException {
        boolean ok = store.delete(id);
        if (ok) log.info("{}: deleted by administrator", id);
        return ok;
    }

    @Override public boolean bounce(String id) throws IOException {
        return bounce(id, Reply.of(550, "5.0.0", "message returned by the administrator"));
    }

    @Override public java.io.InputStream content(String id) throws IOException { return store.openContent(id); }

    @Override public boolean bounce(String id, Reply reason) throws IOException {
        QueuedMessage m = store.get(id);
        if (m == null) return false;
        OutcomeRules.Result r = OutcomeRules.returnToSender(m, reason);
        Instant now = clock.instant();
        for (OutcomeRules.Notice n : r.notices()) notices.send(m, n, now);
        store.recordOutcome(r.updated());
        return true;
    }

    @Override public void close() {
        closed = true;
        owner.interrupt();
        try {
            owner.join(5000);
            workers.shutdownNow();
            writers.shutdown();
            workers.awaitTermination(5, TimeUnit.SECONDS);
            writers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            // what was not finished is due again for any node, without waiting for the leases to run out
            store.releaseMine();
        } catch (IOException e) {
            log.warn("cannot give back leases at shutdown (they expire by themselves): {}", e.getMessage());
        }
    }
}
