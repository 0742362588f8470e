package dev.postern.deliver;

import dev.postern.mail.Address;
import dev.postern.mail.Reply;
import dev.postern.route.MxRouter;
import dev.postern.route.RouteDecision;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Recipient verification probes (policy's reject_unverified_recipient asks; this speaks to the next hop).
 * Each probe runs on a small pool of its own, never on an event loop or a check thread, and at most
 * perDestination probes talk to one domain's next hop at once; a probe that cannot get a turn within the
 * time limit answers 4xx.
 */
public final class RecipientProbe implements AutoCloseable {
    private final MxRouter router;
    private final SmtpDelivery smtp;
    private final int perDestination;
    private final long waitMillis;
    private final ExecutorService pool;
    private final Map<String, Semaphore> destinations = new ConcurrentHashMap<>();

    public RecipientProbe(MxRouter router, SmtpDelivery smtp, int perDestination, java.time.Duration timeout, int threads) {
        this.router = router;
        this.smtp = smtp;
        this.perDestination = perDestination;
        this.waitMillis = timeout.toMillis();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "verify-probe");
            t.setDaemon(true);
            return t;
        });
    }

    public CompletableFuture<Reply> probe(Address rcpt) {
        return CompletableFuture.supplyAsync(() -> ask(rcpt), pool);
    }

    private Reply ask(Address rcpt) {
        Semaphore turn = destinations.computeIfAbsent(rcpt.domain(), d -> new Semaphore(perDestination));
        try {
            if (!turn.tryAcquire(waitMillis, TimeUnit.MILLISECONDS)) {
                return Reply.of(451, "4.4.5", "too many probes to " + rcpt.domain() + " at once");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Reply.of(451, "4.3.2", "shutting down");
        }
        try {
            RouteDecision route = router.route(rcpt.domain());
            if (route instanceof RouteDecision.Failed f) {
                // a domain that cannot be routed at all has no such user either; a lookup failure is temporary
                return f.reply();
            }
            return smtp.probe((RouteDecision.Hops) route, rcpt);
        } finally {
            turn.release();
        }
    }

    @Override public void close() {
        pool.shutdownNow();
        smtp.close();
    }
}
