package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Reply;
import dev.postern.route.Router;
import dev.postern.store.StateFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * reject_unverified_recipient, as Postfix's address_verify: a recipient of a relay domain is accepted only
 * when the next hop accepts it at RCPT. The probe (no message is sent) runs elsewhere; its answer is kept,
 * positive ones for positive_ttl, "no such user" for negative_ttl, in memory and in a file that survives
 * restarts. A probe that cannot complete answers 450 4.1.1 and is not kept, so the client retries.
 * Recipients of other domains are not this check's business (local ones are checked against the accounts).
 */
public final class RecipientVerifier implements AsyncCheck {
    private static final Logger log = LoggerFactory.getLogger("postern.verify");
    static final String FORMAT = "postern-verify 1";
    private static final int MAX_ENTRIES = 200_000;

    /** A kept answer: the next hop's reply code and text, and until when it is believed. */
    record Answer(int code, String text, long expiresMillis) {
        boolean exists() { return code / 100 == 2; }
    }

    private final Router router;
    private final Function<Address, CompletableFuture<Reply>> probe;
    private final Clock clock;
    private final Duration positiveTtl;
    private final Duration negativeTtl;
    private final Duration probeTimeout;
    private final Path file;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    /** One probe per address at a time; RCPTs for it meanwhile wait for the same answer. */
    private final Map<String, CompletableFuture<Reply>> probing = new ConcurrentHashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong probes = new AtomicLong();
    private volatile boolean dirty;

    /**
     * @param probe asks the next hop about one address: a 2xx, 5xx or 4xx reply (4xx also when the probe
     *              could not be completed); never waits on the calling thread
     * @param file  where answers survive restarts; null = memory only
     */
    public RecipientVerifier(Router router, Function<Address, CompletableFuture<Reply>> probe, Clock clock, Duration positiveTtl,
                             Duration negativeTtl, Duration probeTimeout, Path file) throws IOException {
        this.router = router;
        this.probe = probe;
        this.clock = clock;
        this.positiveTtl = positiveTtl;
        this.negativeTtl = negativeTtl;
        this.probeTimeout = probeTimeout;
        this.file = file;
        if (file != null) load();
    }

    @Override public String name() { return "reject_unverified_recipient"; }

    @Override public CompletableFuture<Verdict> checkAsync(Facts f) {
        Address rcpt = f.recipient();
        if (rcpt == null || !router.isRelayDomain(rcpt.domain())) return CompletableFuture.completedFuture(Verdict.CONTINUE);
        String key = rcpt.key();
        Answer known = answers.get(key);
        if (known != null && known.expiresMillis() > clock.millis()) {
            hits.incrementAndGet();
            return CompletableFuture.completedFuture(verdict(rcpt, known.code(), known.text()));
        }
        CompletableFuture<Reply> mine = new CompletableFuture<>();
        CompletableFuture<Reply> asked = probing.putIfAbsent(key, mine);
        if (asked == null) {
            asked = mine;
            probes.incrementAndGet();
            CompletableFuture<Reply> p;
            try {
                p = probe.apply(rcpt);
            } catch (RuntimeException e) {
                p = CompletableFuture.failedFuture(e);
            }
            p.orTimeout(probeTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(e -> Reply.of(451, "4.4.1", "probe did not complete: " + describe(e)))
                    .thenAccept(r -> {
                        keep(key, r);             // first kept, then no longer "being asked": no RCPT in between probes again
                        probing.remove(key, mine);
                        mine.complete(r);
                    });
        }
        return asked.thenApply(r -> verdict(rcpt, r.code(), r.lines().get(0)));
    }

    private static String describe(Throwable e) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        return c instanceof java.util.concurrent.TimeoutException ? "timed out" : String.valueOf(c.getMessage());
    }

    private void keep(String key, Reply r) {
        if (r == null || r.isTransient()) return; // RFC 5321 4.2.1: 4xx is "try again", not an answer
        long ttl = (r.isPositive() ? positiveTtl : negativeTtl).toMillis();
        if (answers.size() >= MAX_ENTRIES) expire();
        answers.put(key, new Answer(r.code(), oneLine(r.lines().get(0)), clock.millis() + ttl));
        dirty = true;
    }

    private static String oneLine(String s) { return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' '); }

    private Verdict verdict(Address rcpt, int code, String text) {
        if (code / 100 == 2) return Verdict.CONTINUE;
        if (code / 100 == 5) {
            // RFC 3463 3.2 X.1.1: the mailbox does not exist; the next hop's words follow
            return new Verdict.Reject(name(), Reply.of(550, "5.1.1", "<" + rcpt + ">: Recipient address rejected: undeliverable address: " + text));
        }
        return new Verdict.Defer(name(), Reply.of(450, "4.1.1", "<" + rcpt + ">: Recipient address rejected: unverified address: " + text));
    }

    /** Kept answers that were used, and probes sent, for /metrics. */
    public Map<String, Long> stats() {
        return Map.of("postern_verify_cache_hits_total", hits.get(), "postern_verify_probes_total", probes.get(),
                "postern_verify_cached", (long) answers.size());
    }

    private void expire() {
        long now = clock.millis();
        answers.values().removeIf(a -> a.expiresMillis() <= now);
    }

    private void load() throws IOException {
        List<String> lines = StateFiles.readVersioned(file, FORMAT, "remove the file to start the verification cache afresh");
        long now = clock.millis();
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t", 4);
            if (f.length != 4) throw new IOException(file + ":" + (i + 2) + ": malformed entry");
            Answer a = new Answer(Integer.parseInt(f[1]), f[3], Long.parseLong(f[2]));
            if (a.expiresMillis() > now) answers.put(f[0], a);
        }
    }

    /** Writes the answers if they changed (temporary file, fsync, rename); called every few seconds and at shutdown. */
    public void save() {
        if (!dirty || file == null) return;
        dirty = false;
        expire();
        List<String> lines = new ArrayList<>(answers.size());
        answers.forEach((k, a) -> lines.add(k + "\t" + a.code() + "\t" + a.expiresMillis() + "\t" + a.text()));
        try {
            StateFiles.writeVersioned(file, FORMAT, lines);
        } catch (IOException e) {
            log.warn("cannot save recipient verification answers to {}: {}", file, e.toString());
            dirty = true;
        }
    }
}
