package dev.postern.filter;

import dev.postern.mail.Reply;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The configured milters ([milter] servers, in order) and what every SMTP session's milter exchange
 * shares: the threads that do the blocking milter I/O, the time-outs, the action when a milter fails, and
 * the verdict counters for metrics.
 */
public final class Milters implements AutoCloseable {
    /** What happens when a milter cannot be reached, breaks the protocol or does not answer in time (Postfix's milter_default_action). */
    public enum DefaultAction { ACCEPT, REJECT, TEMPFAIL }

    public record Settings(List<String> servers, DefaultAction defaultAction, Duration connectTimeout, Duration commandTimeout,
                           Duration contentTimeout) {}

    // Postfix's replies for the plain milter verdicts
    static final Reply REJECTED = Reply.of(550, "5.7.1", "Command rejected");
    static final Reply TEMPFAILED = Reply.of(451, "4.7.1", "Service unavailable - try again later");

    private final Settings settings;
    private final ExecutorService threads;
    private final ScheduledExecutorService watchdog;
    private final Map<String, AtomicLong> verdicts = new ConcurrentHashMap<>();

    public Milters(Settings settings) {
        this.settings = settings;
        AtomicInteger n = new AtomicInteger();
        // blocking socket I/O, one task per session at a time: threads are made as sessions need them and retire when idle
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "milter-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "milter-timeouts");
            t.setDaemon(true);
            return t;
        });
        for (String s : settings.servers()) MilterConnection.address(s); // refuses a malformed address now, not per session
    }

    public Settings settings() { return settings; }

    /** The shared threads; a session runs its milter work on them one task at a time, in order. */
    public ExecutorService threads() { return threads; }

    ScheduledExecutorService watchdog() { return watchdog; }

    /** A session's milter exchange; its work runs on serial, which must run tasks one at a time in order. */
    public MilterSession session(java.util.concurrent.Executor serial, MilterSession.Client client) {
        return new MilterSession(this, serial, client);
    }

    void count(String milter, String verdict) {
        verdicts.computeIfAbsent("postern_milter_verdicts_total{milter=\"" + milter.replace("\"", "") + "\",verdict=\"" + verdict + "\"}",
                k -> new AtomicLong()).incrementAndGet();
    }

    /** Verdicts per milter and kind (postern_milter_verdicts_total{milter="inet:127.0.0.1:11332",verdict="reject"}), for metrics. */
    public Map<String, Long> stats() {
        Map<String, Long> out = new TreeMap<>();
        verdicts.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override public void close() {
        threads.shutdownNow();
        watchdog.shutdownNow();
    }
}
