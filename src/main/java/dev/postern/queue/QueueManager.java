package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.mail.Address;
import dev.postern.mail.Outcome;
import dev.postern.mail.Reply;
import dev.postern.queue.RecipientState.Status;
import dev.postern.route.Resolution;
import dev.postern.route.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs deliveries for queued messages and turns their per-recipient outcomes into queue state:
 * delivered recipients are done, temporary failures are retried with {@link Backoff}, permanent
 * failures are final. A message leaves the spool when every recipient is final.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");

    private final Spool spool;
    private final Router router;
    private final MaildirWriter maildir;
    private final Clock clock;
    private final Backoff backoff;
    private final ScheduledExecutorService workers;
    private final AtomicInteger active = new AtomicInteger();

    public QueueManager(Spool spool, Router router, MaildirWriter maildir, Clock clock, Backoff backoff, int threads) {
        this.spool = spool;
        this.router = router;
        this.maildir = maildir;
        this.clock = clock;
        this.backoff = backoff;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newScheduledThreadPool(threads, r -> {
            Thread t = new Thread(r, "delivery-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Resumes every message found in the spool at start. */
    public int recover() throws IOException {
        List<QueuedMessage> found = spool.recover();
        for (QueuedMessage m : found) {
            log.info("{}: recovered from queue, nrcpt={}", m.id(), m.recipients().size());
            schedule(m, true);
        }
        return found.size();
    }

    /** A freshly committed message: deliver as soon as a worker is free. */
    public void submit(QueuedMessage m) {
        schedule(m, false);
    }

    /** Messages with a delivery in progress or waiting; for tests and metrics. */
    public int pending() { return active.get(); }

    private void schedule(QueuedMessage m, boolean recovered) {
        Instant next = m.recipients().stream().filter(r -> !r.isFinal() && r.nextAttempt() != null)
                .map(RecipientState::nextAttempt).min(Instant::compareTo).orElse(null);
        long delay = next == null ? 0 : Math.max(0, Duration.between(clock.instant(), next).toMillis());
        active.incrementAndGet();
        workers.schedule(() -> {
            try {
                attempt(m, recovered);
            } catch (RuntimeException e) {
                log.error("{}: delivery attempt failed unexpectedly", m.id(), e);
            } finally {
                active.decrementAndGet();
            }
        }, delay, TimeUnit.MILLISECONDS);
    }

    private void attempt(QueuedMessage m, boolean recovered) {
        Instant now = clock.instant();
        List<RecipientState> states = new ArrayList<>(m.recipients());
        Map<String, List<Integer>> byMailbox = new LinkedHashMap<>();
        Map<Integer, Outcome> outcomes = new LinkedHashMap<>();
        for (int i = 0; i < states.size(); i++) {
            RecipientState s = states.get(i);
            if (s.isFinal()) continue;
            Resolution r = router.resolve(s.recipient().address());
            if (r.isUnknown()) {
                outcomes.put(i, Outcome.permanent("local", Reply.of(550, "5.1.1", "<" + r.unknown() + ">: unknown user")));
            } else if (!r.remote().isEmpty()) {
                // Outbound SMTP is not built yet: keep the recipient queued rather than lose or bounce it.
                outcomes.put(i, Outcome.temporary("none", Reply.of(451, "4.4.0", "no outbound transport configured for " + r.remote())));
            } else {
                for (String mb : r.mailboxes()) byMailbox.computeIfAbsent(mb, k -> new ArrayList<>()).add(i);
            }
        }
        // RFC 5321 3.7.7 spirit / Postfix: one copy per distinct final mailbox, however many recipients lead there
        for (var e : byMailbox.entrySet()) {
            Outcome o = deliverLocal(m, e.getKey(), recovered);
            for (int i : e.getValue()) {
                Outcome prev = outcomes.get(i);
                if (prev == null || o.kind() != Outcome.Kind.DELIVERED) outcomes.put(i, o);
            }
        }
        for (var e : outcomes.entrySet()) {
            int i = e.getKey();
            Outcome o = e.getValue();
            RecipientState s = states.get(i);
            int attempts = s.attempts() + 1;
            RecipientState next = switch (o.kind()) {
                case DELIVERED -> new RecipientState(s.recipient(), Status.DELIVERED, attempts, null, o.reply().toString());
                case PERMANENT_FAILURE -> new RecipientState(s.recipient(), Status.FAILED, attempts, null, o.reply().toString());
                case TEMPORARY_FAILURE -> expiredOrDeferred(m, s, attempts, o, now);
            };
            states.set(i, next);
            String status = switch (next.status()) {
                case DELIVERED -> "sent";
                case FAILED -> "bounced";
                default -> "deferred";
            };
            log.info("{}: to=<{}>, relay={}, delay={}, status={} ({})", m.id(), s.recipient().address(), o.relay(),
                    String.format("%.2f", Duration.between(m.envelope().arrival(), clock.instant()).toMillis() / 1000.0),
                    status, o.reply().lines().get(0));
        }
        QueuedMessage updated = m.withRecipients(states);
        try {
            if (states.stream().allMatch(RecipientState::isFinal)) {
                spool.remove(m.id());
                log.info("{}: removed", m.id());
            } else {
                spool.saveState(updated);
                schedule(updated, false);
            }
        } catch (IOException e) {
            log.error("{}: cannot record delivery state, will retry: {}", m.id(), e.toString());
            schedule(updated.withRecipients(m.recipients()), recovered);
        }
    }

    private RecipientState expiredOrDeferred(QueuedMessage m, RecipientState s, int attempts, Outcome o, Instant now) {
        if (Duration.between(m.envelope().arrival(), now).compareTo(backoff.lifetime()) >= 0) {
            return new RecipientState(s.recipient(), Status.FAILED, attempts, null,
                    "message expired after " + backoff.lifetime().toDays() + " days: " + o.reply());
        }
        return new RecipientState(s.recipient(), Status.DEFERRED, attempts, now.plus(backoff.after(attempts)), o.reply().toString());
    }

    private Outcome deliverLocal(QueuedMessage m, String mailbox, boolean recovered) {
        String name = maildir.uniqueName(m.envelope().arrival().getEpochSecond(), m.id(), mailbox);
        try {
            if (recovered && maildir.alreadyDelivered(mailbox, name)) {
                return Outcome.delivered("local", "already delivered to maildir before restart");
            }
            Address sender = m.envelope().sender().address();
            try (InputStream in = spool.openContent(m.id())) {
                maildir.deliver(mailbox, name, sender == null ? "" : sender.toString(), mailbox, in);
            }
            return Outcome.delivered("local", "delivered to maildir");
        } catch (IOException e) {
            String msg = String.valueOf(e.getMessage());
            Reply r = msg.contains("No space left")
                    ? Reply.of(452, "4.2.2", "mailbox file system full")
                    : Reply.of(451, "4.3.0", "cannot write to maildir: " + e);
            return Outcome.temporary("local", r);
        }
    }

    @Override public void close() {
        workers.shutdownNow();
    }
}
