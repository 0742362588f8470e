package dev.postern.policy;

import dev.postern.mail.Reply;

/** What one check decided. Only {@link Continue} lets the next check in the list run. */
public sealed interface Verdict {

    /** No opinion: ask the next check. */
    record Continue() implements Verdict {}

    /** Accept in this phase without asking the remaining checks (permit_*). */
    record Accept(String check) implements Verdict {}

    /**
     * Note a delivery priority class for the message ("bulk") and ask the next check: the chain goes on as
     * after Continue. An access file's "bulk" action gives it.
     */
    record Classify(String check, String priorityClass) implements Verdict {}

    /** The verdicts that refuse: the deciding check, the reply, and what kind of refusal for logs and metrics. */
    sealed interface Refusal extends Verdict {
        String check();

        Reply reply();

        String action();
    }

    /** Refuse with a 5xx reply. */
    record Reject(String check, Reply reply) implements Refusal {
        @Override public String action() { return "reject"; }
    }

    /** Refuse for now with a 4xx reply (greylisting, temporary DNS failures). */
    record Defer(String check, Reply reply) implements Refusal {
        @Override public String action() { return "defer"; }
    }

    /** Answer with the reply and close the connection, whatever the phase (postscreen's "drop"). */
    record Disconnect(String check, Reply reply) implements Refusal {
        @Override public String action() { return "disconnect"; }
    }

    Verdict CONTINUE = new Continue();
}
