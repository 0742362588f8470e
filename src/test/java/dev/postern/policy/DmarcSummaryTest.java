package dev.postern.policy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The console's DMARC page: per policy domain, messages, aligned passes, failures and what was done. */
class DmarcSummaryTest {
    static String row(String domain, String dkim, String spf, String disposition) {
        return "{\"policy_domain\":\"" + domain + "\",\"dkim_aligned\":\"" + dkim + "\",\"spf_aligned\":\"" + spf
                + "\",\"disposition\":\"" + disposition + "\"}";
    }

    @Test void countsPerDomain() {
        List<DmarcSummary.Domain> s = DmarcSummary.summarize(List.of(
                row("a.test", "pass", "fail", "none"), row("a.test", "fail", "pass", "none"), row("a.test", "fail", "fail", "reject"),
                row("b.test", "fail", "fail", "quarantine"), "{torn", ""));
        assertThat(s).containsExactly(new DmarcSummary.Domain("a.test", 3, 2, 1, 0, 1), new DmarcSummary.Domain("b.test", 1, 0, 1, 1, 0));
    }
}
