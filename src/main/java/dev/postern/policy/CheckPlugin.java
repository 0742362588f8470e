package dev.postern.policy;

import java.util.Map;
import java.util.Set;

/**
 * Checks from outside Postern: a jar in the [plugins] directory names its implementation of this
 * interface in {@code META-INF/services/dev.postern.policy.CheckPlugin} (java.util.ServiceLoader), and its
 * checks are then used by name in [policy] lists like the built-in ones.
 *
 * <p>A check sees the session's {@link Facts} of its phase and returns a {@link Verdict}: {@link Verdict#CONTINUE}
 * to let the next check decide, {@link Verdict.Accept} to end the phase's checks, {@link Verdict.Reject} (5xx),
 * {@link Verdict.Defer} (4xx) or {@link Verdict.Disconnect}. Plugin checks always run on the server's check
 * threads, never on a network event loop, so they may block (a database, a web service) — briefly: the
 * client waits. A check that throws counts as a temporary failure (451 4.3.0) and is logged; it must be
 * safe to call from several threads at once.
 */
public interface CheckPlugin {

    /** The check names this plugin offers; they may not be those of built-in checks or of another plugin. */
    Set<String> names();

    /**
     * A check for one of {@link #names()}, made once at start for each list that names it.
     *
     * @param settings the [plugins.NAME] table of the configuration (empty when there is none)
     */
    Check create(String name, Map<String, String> settings);
}
