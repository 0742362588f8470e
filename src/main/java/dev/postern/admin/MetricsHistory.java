package dev.postern.admin;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The console's overview charts: the last hour, per minute. A sample of the metrics is taken each minute;
 * counters are shown as what happened within each minute (the difference to the sample before), gauges as
 * they stood. The minute in progress is included, measured up to the request.
 */
final class MetricsHistory {
    static final int MINUTES = 60;

    /** A series: its name in the API, the metrics it sums (with any labels), whether it counts events (else a gauge). */
    record Series(String name, List<String> prefixes, boolean counter) {
        /** Policy outcomes that refused nothing (warn_only, a priority class noted) are not rejections. */
        boolean counts(String metric) { return !metric.contains("action=\"warn\"") && !metric.contains("action=\"classify-"); }
    }

    static final List<Series> SERIES = List.of(
            new Series("accepted", List.of("postern_smtp_messages_accepted_total"), true),
            new Series("delivered", List.of("postern_delivery_recipients_total{status=\"delivered\"}"), true),
            new Series("deferred", List.of("postern_delivery_recipients_total{status=\"deferred\"}"), true),
            new Series("bounced", List.of("postern_delivery_recipients_total{status=\"bounced\"}"), true),
            new Series("rejected", List.of("postern_policy_refusals_total"), true),
            new Series("queue_size", List.of("postern_queue_messages"), false),
            new Series("oldest_message_seconds", List.of("postern_queue_oldest_seconds"), false),
            new Series("connections", List.of("postern_smtp_connections_open"), false));

    private record Sample(Instant minute, Map<String, Long> values) {}

    private final Supplier<Map<String, Long>> metrics;
    private final Clock clock;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();

    MetricsHistory(Supplier<Map<String, Long>> metrics, Clock clock) {
        this.metrics = metrics;
        this.clock = clock;
        sample(); // the baseline the first minute is measured from
    }

    /** Called each minute (the server's timer). */
    synchronized void sample() {
        samples.addLast(new Sample(clock.instant().truncatedTo(ChronoUnit.MINUTES), reduce(metrics.get())));
        while (samples.size() > MINUTES + 1) samples.removeFirst();
    }

    /** The series over the minutes sampled so far (at most an hour) and the minute in progress. */
    synchronized Map<String, Object> view() {
        List<Sample> all = new ArrayList<>(samples);
        all.add(new Sample(clock.instant(), reduce(metrics.get())));
        List<String> minutes = new ArrayList<>();
        Map<String, List<Long>> series = new LinkedHashMap<>();
        for (Series s : SERIES) series.put(s.name(), new ArrayList<>());
        for (int i = 1; i < all.size(); i++) {
            minutes.add(all.get(i - 1).minute().toString());
            for (Series s : SERIES) {
                long now = all.get(i).values().getOrDefault(s.name(), 0L);
                long before = all.get(i - 1).values().getOrDefault(s.name(), 0L);
                series.get(s.name()).add(s.counter() ? Math.max(0, now - before) : now);
            }
        }
        return Map.of("minutes", minutes, "series", series);
    }

    private static Map<String, Long> reduce(Map<String, Long> m) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Series s : SERIES) {
            long sum = 0;
            for (Map.Entry<String, Long> e : m.entrySet()) {
                for (String p : s.prefixes()) {
                    boolean named = e.getKey().equals(p) || e.getKey().startsWith(p + "{"); // the metric itself or one of its labels
                    if (named && s.counts(e.getKey()) && e.getValue() != null && e.getValue() >= 0) sum += e.getValue();
                }
            }
            out.put(s.name(), sum);
        }
        return out;
    }
}
