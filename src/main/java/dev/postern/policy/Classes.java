package dev.postern.policy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The delivery priority classes checks gave a session's messages (Verdict.Classify, e.g. an access file's
 * "bulk"). What a check of the client (connect, helo) says holds for the whole session; what a check of a
 * transaction says (mail, rcpt, data) holds for that transaction's message only.
 */
public final class Classes {
    private final Set<String> session = ConcurrentHashMap.newKeySet();
    private final Set<String> transaction = ConcurrentHashMap.newKeySet();

    void note(Phase phase, String priorityClass) {
        (phase == Phase.CONNECT || phase == Phase.HELO ? session : transaction).add(priorityClass);
    }

    /** Whether a check gave the current message this class. */
    public boolean has(String priorityClass) { return session.contains(priorityClass) || transaction.contains(priorityClass); }

    /** A new transaction (MAIL after RSET or a finished message): the last one's classes are forgotten. */
    public void newTransaction() { transaction.clear(); }
}
