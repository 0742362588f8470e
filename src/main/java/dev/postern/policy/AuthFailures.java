package dev.postern.policy;

import dev.postern.mail.Reply;

import java.net.InetAddress;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed AUTH attempts per client address in a sliding window. A client over the limit gets 454 for
 * every AUTH until the window passes; as the check reject_auth_failures (connect phase) it is turned away
 * at once with 421 4.7.0. Bounded: the oldest entries are dropped beyond 100,000 addresses.
 */
public final class AuthFailures implements Check {
    private static final int MAX_TRACKED = 100_000;

    private final int limit;
    private final long windowMillis;
    private final Clock clock;
    private final Map<InetAddress, long[]> failures = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<InetAddress, long[]> e) { return size() > MAX_TRACKED; }
    };

    /** The cluster's counts (null: this node's alone); writes go out async, reads stay in memory. */
    private final PolicyState shared;
    private final java.util.concurrent.Executor writer;

    public AuthFailures(int limit, long windowMillis, Clock clock) {
        this(limit, windowMillis, clock, null, null);
    }

    public AuthFailures(int limit, long windowMillis, Clock clock, PolicyState shared, java.util.concurrent.Executor writer) {
        this.shared = shared;
        this.writer = writer;
        this.limit = limit;
        this.windowMillis = windowMillis;
        this.clock = clock;
    }

    @Override public String name() { return "reject_auth_failures"; }

    @Override public Verdict check(Facts f) {
        if (!blocked(f.client())) return Verdict.CONTINUE;
        return new Verdict.Disconnect(name(), Reply.of(421, "4.7.0", "Too many failed authentication attempts from your address, try again later"));
    }

    public synchronized boolean blocked(InetAddress ip) {
        long[] f = failures.get(ip);
        if (f == null) return false;
        if (clock.millis() - f[1] > windowMillis) {
            failures.remove(ip);
            return false;
        }
        return f[0] >= limit;
    }

    public synchronized void recordFailure(InetAddress ip) {
        long now = clock.millis();
        long[] f = failures.get(ip);
        if (f == null || now - f[1] > windowMillis) failures.put(ip, new long[] {1, now});
        else { f[0]++; f[1] = now; }
        if (shared != null) {
            // counted once in the cluster; this node's own view above answers at once
            writer.execute(() -> {
                try {
                    shared.authFailure(ip.getHostAddress(), now, windowMillis);
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger("postern.policy").warn("cannot share a failed AUTH from {}: {}", ip.getHostAddress(), e.getMessage());
                }
            });
        }
    }

    /**
     * Takes in the addresses other nodes counted over the limit (called every second in a cluster): a
     * client that fails on one node and tries the next is turned away there too.
     */
    public void pullShared() {
        if (shared == null) return;
        long now = clock.millis();
        Map<String, Long> over = shared.authFailuresAtLeast(limit, now, windowMillis);
        synchronized (this) {
            for (var e : over.entrySet()) {
                try {
                    InetAddress ip = InetAddress.getByName(e.getKey()); // a literal address: no lookup
                    long[] f = failures.get(ip);
                    if (f == null || f[0] < limit || f[1] < e.getValue()) failures.put(ip, new long[] {Math.max(limit, f == null ? 0 : f[0]), e.getValue()});
                } catch (java.net.UnknownHostException ignored) {
                    // not an address literal: not ours
                }
            }
        }
    }
}
