package dev.postern.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a queue owner applies, one event at a time in the order posted, and a count of the work not yet
 * settled: events waiting, and whatever the owner marks begun (attempts running, records being written).
 * {@link Queue#pending()} is that count; tests wait for it to reach 0.
 */
final class OwnerEvents {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    private final LinkedBlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
    private final AtomicInteger unsettled = new AtomicInteger();

    /** From any thread: the owner applies it after everything posted before. */
    void post(Runnable event) {
        unsettled.incrementAndGet();
        events.add(event);
    }

    /** Work that settles later, by {@link #settle()}. */
    void begin() { unsettled.incrementAndGet(); }

    void settle() { unsettled.decrementAndGet(); }

    int pending() { return unsettled.get(); }

    /**
     * On the owner thread: waits up to waitMillis for an event, then applies it and every other one already
     * waiting, each followed by after, counted unsettled until after has run. False when nothing came.
     */
    boolean applyWaiting(long waitMillis, Runnable after) throws InterruptedException {
        Runnable e = events.poll(waitMillis, TimeUnit.MILLISECONDS);
        if (e == null) return false;
        while (e != null) {
            try {
                e.run();
                after.run();
            } catch (RuntimeException ex) {
                log.error("queue owner: event failed", ex);
            } finally {
                unsettled.decrementAndGet();
            }
            e = events.poll();
        }
        return true;
    }
}
