package dev.postern.policy;

import java.util.concurrent.CompletableFuture;

/**
 * A check whose answer comes from the network later (a probe of the next hop): the chain continues when
 * the future completes, and no thread of ours waits for it meanwhile.
 */
public interface AsyncCheck extends Check {

    CompletableFuture<Verdict> checkAsync(Facts facts);

    /** For callers that run a phase on their own thread. */
    @Override default Verdict check(Facts facts) { return checkAsync(facts).join(); }

    @Override default boolean blocking() { return true; }

    @Override default boolean waitsOnlyForDns() { return false; }
}
