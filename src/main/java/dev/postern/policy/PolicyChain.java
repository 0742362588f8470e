package dev.postern.policy;

import dev.postern.route.DnsReplay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

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
        for (Check c : checks.getOrDefault(phase, List.of())) if (c.blocking()) return true; // asked for every command
        return false;
    }

    /** Runs the phase's checks on this thread (checks that may wait on the DNS included). */
    public Verdict evaluate(Phase phase, Facts given) {
        Facts facts = given.inPhase(phase);
        for (Check c : checks.getOrDefault(phase, List.of())) {
            Verdict v = decide(c, phase, facts);
            if (v != null) return v;
        }
        return Verdict.CONTINUE;
    }

    /**
     * Runs the phase's checks without a thread waiting on the DNS: checks that may wait run through the
     * replay (each on its own, so a check that counts, such as rate_limit, runs once), the others inline.
     */
    public CompletableFuture<Verdict> evaluateAsync(Phase phase, Facts given, DnsReplay lookups) {
        return from(checks.getOrDefault(phase, List.of()), 0, phase, given.inPhase(phase), lookups);
    }

    private CompletableFuture<Verdict> from(List<Check> list, int start, Phase phase, Facts facts, DnsReplay lookups) {
        for (int i = start; i < list.size(); i++) {
            Check c = list.get(i);
            if (c instanceof AsyncCheck a) {
                int next = i + 1;
                CompletableFuture<Verdict> started;
                try {
                    started = a.checkAsync(facts);
                } catch (RuntimeException e) {
                    started = CompletableFuture.failedFuture(e);
                }
                return started.handle((v, err) -> Optional.ofNullable(judge(c, phase, facts, v, err)))
                        .thenCompose(v -> v.isPresent() ? CompletableFuture.completedFuture(v.get()) : from(list, next, phase, facts, lookups));
            }
            if (c.blocking()) {
                int next = i + 1;
                java.util.function.Supplier<Optional<Verdict>> one = () -> Optional.ofNullable(decide(c, phase, facts));
                return (c.waitsOnlyForDns() ? lookups.runHere(one) : lookups.run(one))
                        .thenCompose(v -> v.isPresent() ? CompletableFuture.completedFuture(v.get()) : from(list, next, phase, facts, lookups));
            }
            Verdict v = decide(c, phase, facts);
            if (v != null) return CompletableFuture.completedFuture(v);
        }
        return CompletableFuture.completedFuture(Verdict.CONTINUE);
    }

    /** One check: its verdict, or null to go on (it passed, or it is warn_only). */
    private Verdict decide(Check c, Phase phase, Facts facts) {
        try {
            return judge(c, phase, facts, c.check(facts), null);
        } catch (RuntimeException e) {
            return judge(c, phase, facts, null, e);
        }
    }

    /** What the chain makes of a check's verdict or failure. */
    private Verdict judge(Check c, Phase phase, Facts facts, Verdict v, Throwable failure) {
        if (failure != null) {
            Throwable e = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
            // a check whose state is out of reach (the cluster database down): never decide without it
            log.warn("{} from {}[{}]: check {} failed: {}", phase, facts.clientName(), facts.client().getHostAddress(), c.name(), e.getMessage());
            count(c.name(), "tempfail");
            return new Verdict.Defer(c.name(), dev.postern.mail.Reply.of(451, "4.3.0", "Temporary lookup failure, try again later"));
        }
        if (v instanceof Verdict.Continue) return null;
        if (v instanceof Verdict.Classify k) { // noted for the message, and the next check asked
            facts.classes().note(phase, k.priorityClass());
            count(c.name(), "classify-" + k.priorityClass());
            return null;
        }
        if (v instanceof Verdict.Refusal r) {
            boolean warn = warnOnly.contains(c.name());
            count(c.name(), warn ? "warn" : r.action());
            if (warn) {
                log.info("warn: {} from {}[{}]: would {}: {}; check={}", phase, facts.clientName(), facts.client().getHostAddress(),
                        r.action(), r.reply(), c.name());
                return null;
            }
        }
        return v;
    }

    private void count(String check, String action) {
        refusals.increment("postern_policy_refusals_total{check=\"" + check + "\",action=\"" + action + "\"}");
    }

    /** Counters for the metrics endpoint: refusals (and warn_only would-be refusals) per check. */
    public Map<String, Long> stats() {
        return refusals.snapshot();
    }

}
