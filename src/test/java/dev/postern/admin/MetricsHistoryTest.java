package dev.postern.admin;

import dev.postern.testing.MutableClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The console's charts: counters per minute, gauges as they stood, an hour kept, the minute in progress last. */
class MetricsHistoryTest {
    @SuppressWarnings("unchecked")
    @Test void countersBecomeEventsPerMinuteAndGaugesStayValues() {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
        Map<String, Long> m = new HashMap<>(Map.of("postern_smtp_messages_accepted_total", 100L, "postern_queue_messages", 7L,
                "postern_policy_refusals_total{check=\"dnsbl\",action=\"reject\"}", 1L,
                "postern_policy_refusals_total{check=\"spf\",action=\"reject\"}", 2L, "postern_queue_messages_by_state", 99L,
                "postern_policy_refusals_total{check=\"dnsbl\",action=\"warn\"}", 0L));
        MetricsHistory h = new MetricsHistory(() -> Map.copyOf(m), clock);
        m.put("postern_smtp_messages_accepted_total", 130L);
        m.put("postern_policy_refusals_total{check=\"spf\",action=\"reject\"}", 5L);
        m.put("postern_policy_refusals_total{check=\"dnsbl\",action=\"warn\"}", 40L); // would have refused: not a rejection
        clock.advance(Duration.ofMinutes(1));
        h.sample();
        m.put("postern_smtp_messages_accepted_total", 135L);
        m.put("postern_queue_messages", 3L);
        clock.advance(Duration.ofSeconds(20));
        Map<String, Object> v = h.view();
        Map<String, List<Long>> series = (Map<String, List<Long>>) v.get("series");
        assertThat(series.get("accepted")).containsExactly(30L, 5L);     // the minute before, the one in progress
        assertThat(series.get("rejected")).containsExactly(3L, 0L);      // every label of the counter summed
        assertThat(series.get("queue_size")).containsExactly(7L, 3L);    // a gauge: its value, not a difference;
        assertThat((List<String>) v.get("minutes")).containsExactly("2026-12-02T10:00:00Z", "2026-12-02T10:01:00Z"); // _by_state not counted

        for (int i = 0; i < 100; i++) {
            clock.advance(Duration.ofMinutes(1));
            h.sample();
        }
        assertThat(((List<String>) h.view().get("minutes"))).hasSize(MetricsHistory.MINUTES + 1);
    }
}
