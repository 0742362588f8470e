package dev.postern.policy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The configured checks of each phase, run in order; the first verdict other than Continue wins, as in
 * Postfix's restriction lists. A check named in warn_only only logs what it would have done.
 */
public final class PolicyChain {
    private static final Logger log = LoggerFactory.getLogger("postern.policy");

    private final Map<Phase, List<Check>> checks;
    private final Set<String> warnOnly;
    /** Refusals by check and kind, for /metrics. */
    private final Counters refusals = new Counters();

    public PolicyChain(Map<Phase, List<Check>> checks, Set<String> warnOnly) {
        this.checks = new EnumMap<>(checks);
        this.warnOnly = Set.copyOf(warnOnly);
    }

    public boolean blocking(Phase phase) {
        return checks.getOrDefault(phase, List.of()).stream().anyMatch(Check::blocking);
    }

    public Verdict evaluate(Phase phase, Facts given) {
        Facts facts = given.inPhase(phase);
        for (Check c : checks.getOrDefault(phase, List.of())) {
            Verdict v;
            try {
                v = c.check(facts);
            } catch (RuntimeException e) {
                // a check whose state is out of reach (the cluster database down): never decide without it
                log.warn("{} from {}[{}]: check {} failed: {}", phase, facts.clientName(), facts.client().getHostAddress(), c.name(), e.getMessage());
                count(c.name(), "tempfail");
                return new Verdict.Defer(c.name(), dev.postern.mail.Reply.of(451, "4.3.0", "Temporary lookup failure, try again later"));
            }
            if (v instanceof Verdict.Continue) continue;
            if (v instanceof Verdict.Refusal r) {
                boolean warn = warnOnly.contains(c.name());
                count(c.name(), warn ? "warn" : r.action());
                if (warn) {
                    log.info("warn: {} from {}[{}]: would {}: {}; check={}", phase, facts.clientName(), facts.client().getHostAddress(),
                            r.action(), r.reply(), c.name());
                    continue;
                }
            }
            return v;
        }
        return Verdict.CONTINUE;
    }

    private void count(String check, String action) {
        refusals.increment("postern_policy_refusals_total{check=\"" + check + "\",action=\"" + action + "\"}");
    }

    /** Counters for the metrics endpoint: refusals (and warn_only would-be refusals) per check. */
    public Map<String, Long> stats() {
        return refusals.snapshot();
    }

}
