package dev.postern.queue;

import dev.postern.mail.Outcome;
import dev.postern.mail.Recipient;
import dev.postern.mail.Reply;
import dev.postern.queue.RecipientState.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Pure rules: how one attempt's per-recipient outcomes change a message's recipient state (delivered,
 * deferred with backoff, failed, expired) and which notices the sender asked for (RFC 3461). Applied by the
 * queue's owner to the message as it is when the outcome arrives, not as it was when the attempt began.
 */
final class OutcomeRules {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    /** A notice to send: which kind, for which recipients. */
    record Notice(DsnWriter.Kind kind, List<DsnWriter.Entry> entries) {}

    record Result(QueuedMessage updated, List<Notice> notices) {}

    private OutcomeRules() {}

    static Result apply(QueuedMessage m, Map<Integer, Outcome> outcomes, Instant now, QueueManager.Times times) {
        List<RecipientState> states = new ArrayList<>(m.recipients());
        List<DsnWriter.Entry> failed = new ArrayList<>(), delayed = new ArrayList<>(), succeeded = new ArrayList<>();
        for (var e : outcomes.entrySet()) {
            int i = e.getKey();
            Outcome o = e.getValue();
            RecipientState before = states.get(i);
            if (before.isFinal()) continue; // decided meanwhile (by the administrator)
            RecipientState after = next(m, before, o, now, times);
            String diagnostic = o.reply().toString();
            String remote = o.relay().equals("local") || o.relay().equals("none") ? null : o.relay();
            if (after.status() == Status.FAILED && wants(before.recipient(), "FAILURE", true)) {
                failed.add(new DsnWriter.Entry(after, "failed", statusOf(o.reply(), "5.0.0", true), after.lastReply(), remote));
            } else if (after.status() == Status.DELIVERED && wants(before.recipient(), "SUCCESS", false) && !o.dsnPassedOn()) {
                // RFC 3461 6.2.6: "relayed" when the next hop will not report success itself
                String action = o.relay().equals("local") ? "delivered" : "relayed";
                succeeded.add(new DsnWriter.Entry(after, action, statusOf(o.reply(), "2.0.0", false), diagnostic, remote));
            } else if (after.status() == Status.DEFERRED && !after.delayWarned() && wants(before.recipient(), "DELAY", false)
                    && !Duration.between(m.envelope().arrival(), now).minus(times.delayWarning()).isNegative()) {
                after = after.withDelayWarned();
                delayed.add(new DsnWriter.Entry(after, "delayed", statusOf(o.reply(), "4.0.0", false), diagnostic, remote));
            }
            states.set(i, after);
            logOutcome(m, before, after, o, now);
        }
        List<Notice> notices = new ArrayList<>();
        if (!failed.isEmpty()) notices.add(new Notice(DsnWriter.Kind.FAILED, failed));
        if (!delayed.isEmpty()) notices.add(new Notice(DsnWriter.Kind.DELAYED, delayed));
        if (!succeeded.isEmpty()) notices.add(new Notice(DsnWriter.Kind.SUCCESS, succeeded));
        return new Result(m.withRecipients(states), notices);
    }

    /** Every pending recipient fails now (postsuper -r to a bounce, as the administrator asks). */
    static Result returnToSender(QueuedMessage m) {
        return returnToSender(m, Reply.of(550, "5.0.0", "message returned by the administrator"));
    }

    static Result returnToSender(QueuedMessage m, Reply r) {
        List<RecipientState> states = new ArrayList<>();
        List<DsnWriter.Entry> entries = new ArrayList<>();
        for (RecipientState s : m.recipients()) {
            if (s.isFinal()) {
                states.add(s);
                continue;
            }
            RecipientState f = new RecipientState(s.recipient(), Status.FAILED, s.attempts(), null, r.toString(), s.relay(), s.delayWarned());
            states.add(f);
            String dsn = r.enhanced() != null ? r.enhanced() : "5.0.0";
            entries.add(new DsnWriter.Entry(f, "failed", dsn, r.toString(), null));
            log.info("{}: to=<{}>, relay=none, dsn={}, status=bounced ({})", m.id(), s.recipient().address(), dsn, r);
        }
        return new Result(m.withRecipients(states), entries.isEmpty() ? List.of() : List.of(new Notice(DsnWriter.Kind.FAILED, entries)));
    }

    /** The same temporary outcome for every pending recipient (an attempt that failed as a whole). */
    static Map<Integer, Outcome> allTemporary(QueuedMessage m, Reply r) {
        Map<Integer, Outcome> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < m.recipients().size(); i++) if (!m.recipients().get(i).isFinal()) out.put(i, Outcome.temporary("none", r));
        return out;
    }

    /** Every pending recipient due now (flush, retry, release). */
    static QueuedMessage dueNow(QueuedMessage m) {
        return m.withRecipients(m.recipients().stream().map(RecipientState::dueNow).toList());
    }

    /** The new state of one recipient after one outcome. */
    private static RecipientState next(QueuedMessage m, RecipientState s, Outcome o, Instant now, QueueManager.Times times) {
        int attempts = s.attempts() + 1;
        String reply = o.reply().toString();
        return switch (o.kind()) {
            case DELIVERED -> new RecipientState(s.recipient(), Status.DELIVERED, attempts, null, reply, o.relay(), s.delayWarned());
            case PERMANENT_FAILURE -> new RecipientState(s.recipient(), Status.FAILED, attempts, null, reply, o.relay(), s.delayWarned());
            case TEMPORARY_FAILURE -> {
                if (!Duration.between(m.envelope().arrival(), now).minus(times.maxLifetime()).isNegative()) {
                    // Postfix: "message expired", reported with the last temporary reason
                    yield new RecipientState(s.recipient(), Status.FAILED, attempts, null,
                            "message expired after " + times.maxLifetime().toDays() + " days; last error: " + reply, o.relay(), s.delayWarned());
                }
                yield new RecipientState(s.recipient(), Status.DEFERRED, attempts, now.plus(times.backoff().after(attempts)),
                        reply, o.relay(), s.delayWarned());
            }
        };
    }

    /** RFC 3461 4.1: NOTIFY absent means FAILURE (and, by our default, DELAY); NEVER means nothing. */
    private static boolean wants(Recipient r, String what, boolean byDefault) {
        if (r.notifyOn() == null) return byDefault || what.equals("DELAY");
        return r.notifyOn().contains(what);
    }

    private static String statusOf(Reply r, String dflt, boolean permanent) {
        if (r.enhanced() != null && (!permanent || r.enhanced().startsWith("5"))) return r.enhanced();
        return permanent && r.enhanced() != null ? "5" + r.enhanced().substring(1) : dflt;
    }

    private static void logOutcome(QueuedMessage m, RecipientState before, RecipientState after, Outcome o, Instant now) {
        if (!log.isInfoEnabled()) return; // every delivery passes here: nothing built for a line nobody writes
        String status = switch (after.status()) {
            case DELIVERED -> "sent";
            case FAILED -> after.lastReply().startsWith("message expired") ? "expired" : "bounced";
            default -> "deferred";
        };
        log.info("{}: to=<{}>, relay={}, delay={}, dsn={}, status={} ({})", m.id(), before.recipient().address(), o.relay(),
                seconds(Duration.between(m.envelope().arrival(), now).toMillis()), o.reply().enhanced(), status, after.lastReply());
    }

    /** Milliseconds as seconds with two decimals, rounded half up ("1.24"), without a Formatter per delivery. */
    static String seconds(long millis) {
        if (millis < 0) return "-" + seconds(-millis);
        long centis = (millis + 5) / 10;
        long frac = centis % 100;
        return (centis / 100) + (frac < 10 ? ".0" : ".") + frac;
    }
}
