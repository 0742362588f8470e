package dev.postern.queue;

import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

class OutcomeRulesTest {
    @Test void theDelayInTheDeliveryLogReadsAsTheFormatterWroteIt() {
        for (long ms = -2_500; ms <= 200_000; ms++) {
            assertThat(OutcomeRules.seconds(ms)).as("%d ms", ms)
                    .isEqualTo(ms < 0 ? "-" + String.format(Locale.ROOT, "%.2f", -ms / 1000.0) : String.format(Locale.ROOT, "%.2f", ms / 1000.0));
        }
        assertThat(OutcomeRules.seconds(5 * 86_400_000L + 4)).isEqualTo("432000.00");
    }
}
