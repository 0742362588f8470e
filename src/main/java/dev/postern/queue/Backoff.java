package dev.postern.queue;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Retry spacing: doubling from min to max with ±10% jitter so deferred mail does not retry in lockstep.
 * Defaults follow Postfix: minimal_backoff_time 300s, maximal_backoff_time 4000s.
 */
public record Backoff(Duration min, Duration max) {
    public static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(300), Duration.ofSeconds(4000));

    public Duration after(int attempts) {
        long base = min.toMillis() << Math.min(Math.max(attempts - 1, 0), 20);
        long capped = Math.min(base, max.toMillis());
        long jitter = (long) (capped * 0.1 * (ThreadLocalRandom.current().nextDouble() * 2 - 1));
        return Duration.ofMillis(Math.max(min.toMillis(), Math.min(max.toMillis(), capped + jitter)));
    }
}
