package dev.postern.queue;

import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Starts delivery attempts on the delivery threads by priority class. Each class has slots reserved for it
 * (its share of the threads) that no other class may take, so a user's message finds a thread at once even
 * while thousands of bulk messages wait on a slow destination; the slots nobody reserved are shared, first
 * come first served, classes asked in order (notices, submission, relay, bulk). Without classes every
 * attempt queued behind every earlier one, in one line.
 */
final class DeliverySlots {
    /** An attempt to run, and what to do if the threads are gone (shutting down). */
    record Attempt(Runnable run, Runnable rejected) {}

    private final Executor threads;
    private final int total;
    private final Map<PriorityClass, Integer> reserved = new EnumMap<>(PriorityClass.class);
    private final Map<PriorityClass, Integer> running = new EnumMap<>(PriorityClass.class);
    private final Map<PriorityClass, ArrayDeque<Attempt>> waiting = new EnumMap<>(PriorityClass.class);

    /** total: how many attempts may run at once (the threads); shares: per class, percent of total reserved. */
    DeliverySlots(Executor threads, int total, Map<PriorityClass, Integer> sharePercent) {
        this.threads = threads;
        this.total = total;
        for (PriorityClass c : PriorityClass.values()) {
            running.put(c, 0);
            waiting.put(c, new ArrayDeque<>());
        }
        reserve(sharePercent);
    }

    /** New shares (a configuration reload); attempts running go on, the next ones start by the new shares. */
    synchronized void reserve(Map<PriorityClass, Integer> sharePercent) {
        for (PriorityClass c : PriorityClass.values()) {
            int share = sharePercent.getOrDefault(c, 0);
            reserved.put(c, share == 0 ? 0 : Math.max(1, total * share / 100));
        }
        startWhatMay();
    }

    /** The slots reserved for a class (its share of the total). */
    synchronized int reserved(PriorityClass c) { return reserved.get(c); }

    synchronized void submit(PriorityClass c, Attempt a) {
        waiting.get(c).add(a);
        startWhatMay();
    }

    private synchronized void finished(PriorityClass c) {
        running.merge(c, -1, Integer::sum);
        startWhatMay();
    }

    private void startWhatMay() {
        PriorityClass c;
        while ((c = next()) != null) {
            Attempt a = waiting.get(c).poll();
            running.merge(c, 1, Integer::sum);
            PriorityClass cls = c;
            try {
                threads.execute(() -> {
                    try {
                        a.run().run();
                    } finally {
                        finished(cls);
                    }
                });
            } catch (RejectedExecutionException e) {
                running.merge(c, -1, Integer::sum);
                a.rejected().run();
            }
        }
    }

    /** A class below its reservation first, then any class while unreserved slots are free; null: none may start. */
    private PriorityClass next() {
        int all = 0, claimed = 0;
        for (PriorityClass c : PriorityClass.values()) {
            all += running.get(c);
            claimed += Math.max(running.get(c), reserved.get(c));
        }
        if (all >= total) return null;
        for (PriorityClass c : PriorityClass.values()) {
            if (!waiting.get(c).isEmpty() && running.get(c) < reserved.get(c)) return c;
        }
        if (claimed >= total) return null;
        for (PriorityClass c : PriorityClass.values()) {
            if (!waiting.get(c).isEmpty()) return c;
        }
        return null;
    }

    /** Per class: attempts running and waiting for a slot, for the metrics. */
    synchronized Map<String, Long> stats() {
        Map<String, Long> m = new java.util.HashMap<>();
        for (PriorityClass c : PriorityClass.values()) {
            m.put("postern_queue_class_running{class=\"" + c.configName() + "\"}", (long) running.get(c));
            m.put("postern_queue_class_waiting{class=\"" + c.configName() + "\"}", (long) waiting.get(c).size());
        }
        return m;
    }
}
