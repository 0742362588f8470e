package dev.postern.queue;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Recipients delivered, deferred and bounced since start, counted from each attempt's recorded result. */
final class DeliveryCounters {
    private final AtomicLong delivered = new AtomicLong(), deferred = new AtomicLong(), bounced = new AtomicLong();

    /** Tallies the recipients an attempt reported on (indexes of outcomes), by the state they ended in. */
    void count(QueuedMessage updated, Iterable<Integer> attempted) {
        for (int i : attempted) {
            switch (updated.recipients().get(i).status()) {
                case DELIVERED -> delivered.incrementAndGet();
                case FAILED -> bounced.incrementAndGet();
                case DEFERRED, PENDING -> deferred.incrementAndGet();
            }
        }
    }

    Map<String, Long> stats() {
        return Map.of("postern_delivery_recipients_total{status=\"delivered\"}", delivered.get(),
                "postern_delivery_recipients_total{status=\"deferred\"}", deferred.get(),
                "postern_delivery_recipients_total{status=\"bounced\"}", bounced.get());
    }
}
