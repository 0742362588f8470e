package dev.postern.policy;

import dev.postern.mail.Reply;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Events per client address (or per authenticated user) per minute, counted in fixed one-minute windows.
 * At connect it limits connections (421 4.7.0, then the connection closes); at RCPT it limits recipients
 * and at DATA messages (450 4.7.1). Memory is bounded: at most 100,000 keys, the least recently seen dropped first.
 */
public final class RateLimit implements Check {
    private static final int MAX_KEYS = 100_000;

    private final int connectionsPerMinute;
    private final int recipientsPerMinute;
    private final int messagesPerMinute;
    private final Clock clock;
    private final LinkedHashMap<String, long[]> windows = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, long[]> e) { return size() > MAX_KEYS; }
    };

    public RateLimit(int connectionsPerMinute, int recipientsPerMinute, Clock clock) {
        this(connectionsPerMinute, recipientsPerMinute, 0, clock);
    }

    /** The cluster's counters (null: this node's windows above). */
    private final PolicyState shared;

    public RateLimit(int connectionsPerMinute, int recipientsPerMinute, int messagesPerMinute, Clock clock) {
        this(connectionsPerMinute, recipientsPerMinute, messagesPerMinute, clock, null);
    }

    public RateLimit(int connectionsPerMinute, int recipientsPerMinute, int messagesPerMinute, Clock clock, PolicyState shared) {
        this.shared = shared;
        this.messagesPerMinute = messagesPerMinute;
        this.connectionsPerMinute = connectionsPerMinute;
        this.recipientsPerMinute = recipientsPerMinute;
        this.clock = clock;
    }

    @Override public String name() { return "rate_limit"; }

    @Override public boolean blocking() { return shared != null; }

    @Override public boolean waitsOnlyForDns() { return false; }

    @Override public Verdict check(Facts f) {
        if (f.phase() == Phase.CONNECT) {
            // connect phase: one new connection from this address
            if (connectionsPerMinute > 0 && count("c|" + f.client().getHostAddress()) > connectionsPerMinute) {
                return new Verdict.Disconnect(name(), Reply.of(421, "4.7.0", "Too many connections from your address per minute, try again later"));
            }
            return Verdict.CONTINUE;
        }
        if (f.phase() == Phase.DATA) {
            // data phase: one more message from this user or address
            String who = f.authUser() != null ? "mu|" + f.authUser() : "m|" + f.client().getHostAddress();
            if (messagesPerMinute > 0 && count(who) > messagesPerMinute) {
                return new Verdict.Defer(name(), Reply.of(450, "4.7.1", "Too many messages per minute, try again later"));
            }
            return Verdict.CONTINUE;
        }
        if (f.recipient() != null && recipientsPerMinute > 0) {
            String who = f.authUser() != null ? "u|" + f.authUser() : "r|" + f.client().getHostAddress();
            if (count(who) > recipientsPerMinute) {
                return new Verdict.Defer(name(), Reply.of(450, "4.7.1", "Too many recipients per minute, try again later"));
            }
        }
        return Verdict.CONTINUE;
    }

    private long count(String key) {
        long minute = clock.millis() / 60_000;
        if (shared != null) return shared.countInWindow(key, minute);
        synchronized (this) {
            return countHere(key, minute);
        }
    }

    private long countHere(String key, long minute) {
        long[] w = windows.get(key);
        if (w == null || w[0] != minute) {
            w = new long[] {minute, 0};
            windows.put(key, w);
        }
        return ++w[1];
    }
}
