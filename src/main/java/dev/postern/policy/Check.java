package dev.postern.policy;

/** One named accept/reject rule, as in Postfix's restriction lists. */
public interface Check {

    /** The name used in configuration and logs, e.g. "reject_unauth_destination". */
    String name();

    Verdict check(Facts facts);

    /** True when the check may wait (DNS, shared state): the session then runs its phase off the event loop. */
    default boolean blocking() { return false; }

    /**
     * True when the only thing it waits for is the DNS: such a check first runs where the session is and
     * leaves only when an answer is not cached (route.DnsReplay); one waiting on shared state always leaves.
     */
    default boolean waitsOnlyForDns() { return blocking(); }
}
