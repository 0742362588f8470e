package dev.postern.policy;

/** One named accept/reject rule, as in Postfix's restriction lists. */
public interface Check {

    /** The name used in configuration and logs, e.g. "reject_unauth_destination". */
    String name();

    Verdict check(Facts facts);

    /** True when the check may wait (DNS): the session then runs its phase off the event loop. */
    default boolean blocking() { return false; }
}
