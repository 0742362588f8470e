package dev.postern.policy;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** A check whose state is out of reach (the cluster database down) never decides: the chain answers 451 4.3.0. */
class PolicyChainTest {
    @Test void aFailingCheckDefersInsteadOfDeciding() throws Exception {
        Check broken = new Check() {
            @Override public String name() { return "rate_limit"; }
            @Override public Verdict check(Facts facts) { throw new java.io.UncheckedIOException(new java.io.IOException("database down")); }
        };
        PolicyChain chain = new PolicyChain(Map.of(Phase.RCPT, List.of(broken, Checks.reject())), Set.of());
        Facts f = new Facts(Phase.RCPT, InetAddress.getByName("192.0.2.1"), "unknown", "client.example", null, null, true, null);
        Verdict v = chain.evaluate(Phase.RCPT, f);
        assertThat(v).isInstanceOf(Verdict.Defer.class);
        assertThat(((Verdict.Defer) v).reply().toString()).startsWith("451 4.3.0");
        assertThat(chain.stats()).containsEntry("postern_policy_refusals_total{check=\"rate_limit\",action=\"tempfail\"}", 1L);
    }
}
