package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.deliver.SmtpDelivery;
import dev.postern.mail.Address;
import dev.postern.mail.Outcome;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.mail.Reply;
import dev.postern.route.MxRouter;
import dev.postern.route.Resolution;
import dev.postern.route.RouteDecision;
import dev.postern.route.Router;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * One delivery attempt of one message: resolves each pending recipient (aliases, local or remote), writes
 * local mailboxes once each, and sends remote mail per destination domain within the concurrency limits.
 * Returns an outcome per recipient index; it records nothing itself.
 */
final class DeliveryDispatcher {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("postern.queue");
    private final Spool spool;
    private final Router router;
    private final MaildirWriter maildir;
    private final MxRouter mx;
    private volatile SmtpDelivery smtp;
    private final Semaphore global;
    private final int perDestination;
    private final Map<String, Semaphore> destinations = new ConcurrentHashMap<>();

    DeliveryDispatcher(Spool spool, Router router, MaildirWriter maildir, MxRouter mx, SmtpDelivery smtp,
                       int perDestination, int global) {
        this.spool = spool;
        this.router = router;
        this.maildir = maildir;
        this.mx = mx;
        this.smtp = smtp;
        this.perDestination = perDestination;
        this.global = new Semaphore(global);
    }

    /**
     * {@link #attempt}, with a failure of the attempt itself (a bug) turned into a temporary failure of every
     * pending recipient, so the message is retried with a backoff. An unreachable store still escapes
     * ({@link SpoolUnavailable.Abandoned}): that was no attempt.
     */
    Map<Integer, Outcome> attemptOrDefer(QueuedMessage m, boolean recovered) {
        try {
            return attempt(m, recovered);
        } catch (SpoolUnavailable.Abandoned e) {
            throw e;
        } catch (RuntimeException e) {
            log.error("{}: delivery attempt failed unexpectedly", m.id(), e);
            return OutcomeRules.allTemporary(m, Reply.of(451, "4.3.0", "internal error during delivery"));
        }
    }

    Map<Integer, Outcome> attempt(QueuedMessage m, boolean recovered) {
        List<RecipientState> states = m.recipients();
        Map<Integer, Outcome> outcomes = new LinkedHashMap<>();
        Map<LocalTarget, List<Integer>> byMailbox = new LinkedHashMap<>();
        Map<String, Map<Address, List<Integer>>> byDomain = new LinkedHashMap<>();
        for (int i = 0; i < states.size(); i++) {
            RecipientState s = states.get(i);
            if (s.isFinal()) continue;
            Resolution r = router.resolve(s.recipient().address());
            if (r.isUnknown()) {
                outcomes.put(i, Outcome.permanent("local", Reply.of(550, "5.1.1", "<" + r.unknown() + ">: Recipient address rejected: user unknown")));
                continue;
            }
            for (String mb : r.mailboxes()) {
                String ext = r.extensions().get(mb);
                // Delivered-To keeps the full address (alice+news@…) when the recipient named this mailbox itself
                String deliveredTo = ext != null ? s.recipient().address().toString() : mb;
                LocalTarget t = new LocalTarget(mb, maildir.existingFolder(mb, ext), deliveredTo);
                byMailbox.computeIfAbsent(t, k -> new ArrayList<>()).add(i);
            }
            for (Address a : r.remote()) {
                byDomain.computeIfAbsent(a.domain(), k -> new LinkedHashMap<>()).computeIfAbsent(a, k -> new ArrayList<>()).add(i);
            }
        }
        // one copy per distinct final mailbox, however many recipients lead there
        for (var e : byMailbox.entrySet()) {
            Outcome o = deliverLocal(m, e.getKey(), recovered);
            for (int i : e.getValue()) outcomes.merge(i, o, DeliveryDispatcher::worse);
        }
        for (var e : byDomain.entrySet()) {
            List<Address> addresses = new ArrayList<>(e.getValue().keySet());
            List<Outcome> results = deliverRemote(m, e.getKey(), addresses);
            for (int k = 0; k < addresses.size(); k++) {
                for (int i : e.getValue().get(addresses.get(k))) outcomes.merge(i, results.get(k), DeliveryDispatcher::worse);
            }
        }
        return outcomes;
    }

    /** For a recipient that expanded to several targets: any temporary failure wins, then permanent ones. */
    private static Outcome worse(Outcome a, Outcome b) {
        if (a.kind() == Outcome.Kind.TEMPORARY_FAILURE) return a;
        if (b.kind() == Outcome.Kind.TEMPORARY_FAILURE) return b;
        if (a.kind() == Outcome.Kind.PERMANENT_FAILURE) return a;
        return b.kind() == Outcome.Kind.PERMANENT_FAILURE ? b : a;
    }

    /** Delivers with new TLS levels, HELO name, relay credentials (a reload); returns the client it replaces. */
    SmtpDelivery useDelivery(SmtpDelivery next) {
        SmtpDelivery was = smtp;
        smtp = next;
        return was;
    }

    /** SRS for forwarded mail; none until set. */
    private volatile SenderRewriter forwarding = SenderRewriter.NONE;

    void rewriteForwardedSenders(SenderRewriter r) { forwarding = r; }

    /**
     * Recipients the message was sent to and recipients a local alias forwards to go in separate transactions:
     * the forwarded ones leave with the rewritten (SRS) sender, so that the receiver's SPF check passes.
     */
    private List<Outcome> deliverRemote(QueuedMessage m, String domain, List<Address> addresses) {
        List<Address> direct = new ArrayList<>(), forwarded = new ArrayList<>();
        for (Address a : addresses) {
            boolean named = m.recipients().stream().anyMatch(r -> r.recipient().address().equals(a));
            (named ? direct : forwarded).add(a);
        }
        ReversePath rewritten = forwarded.isEmpty() ? m.envelope().sender() : forwarding.forwarded(m.envelope().sender());
        if (rewritten.equals(m.envelope().sender())) return deliverRemote(m, m.envelope(), domain, addresses);
        java.util.Map<Address, Outcome> byAddress = new java.util.HashMap<>();
        if (!direct.isEmpty()) {
            List<Outcome> o = deliverRemote(m, m.envelope(), domain, direct);
            for (int i = 0; i < direct.size(); i++) byAddress.put(direct.get(i), o.get(i));
        }
        var env = m.envelope();
        Envelope srs = new Envelope(rewritten, env.recipients(), env.body(), env.smtpUtf8(), env.ret(), env.envid(), env.heloName(),
                env.clientAddress(), env.authUser(), env.arrival(), env.requireTls());
        List<Outcome> o = deliverRemote(m, srs, domain, forwarded);
        for (int i = 0; i < forwarded.size(); i++) byAddress.put(forwarded.get(i), o.get(i));
        List<Outcome> out = new ArrayList<>();
        for (Address a : addresses) out.add(byAddress.get(a));
        return out;
    }

    private List<Outcome> deliverRemote(QueuedMessage m, Envelope envelope, String domain, List<Address> addresses) {
        List<Recipient> rcpts = new ArrayList<>();
        for (Address a : addresses) {
            Recipient original = m.recipients().stream().map(RecipientState::recipient)
                    .filter(r -> r.address().equals(a)).findFirst().orElse(null);
            // recipients reached through an alias carry no DSN parameters of their own
            rcpts.add(original != null ? original : new Recipient(a));
        }
        Semaphore dest = destinations.computeIfAbsent(domain, d -> new Semaphore(perDestination));
        try {
            dest.acquire();
            global.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return repeat(Outcome.temporary("none", Reply.of(451, "4.3.2", "shutting down")), rcpts.size());
        }
        try {
            RouteDecision route = mx.route(domain);
            if (route instanceof RouteDecision.Failed f) {
                return repeat(f.reply().isTransient() ? Outcome.temporary("none", f.reply()) : Outcome.permanent("none", f.reply()), rcpts.size());
            }
            return smtp.deliver((RouteDecision.Hops) route, envelope, rcpts, m.size(), () -> spool.openContent(m.id()));
        } finally {
            global.release();
            dest.release();
        }
    }

    private static List<Outcome> repeat(Outcome o, int n) {
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(o);
        return out;
    }

    /** One copy to write: a mailbox, the Maildir++ folder in it (null = INBOX), and the Delivered-To value. */
    private record LocalTarget(String mailbox, String folder, String deliveredTo) {}

    private Outcome deliverLocal(QueuedMessage m, LocalTarget t, boolean recovered) {
        String mailbox = t.mailbox();
        long arrival = m.envelope().arrival().toEpochMilli();
        String key = t.folder() == null ? mailbox : mailbox + "/." + t.folder();
        String name = maildir.uniqueName(arrival, m.id(), key);
        java.nio.file.Path md = maildir.maildirOf(mailbox, t.folder());
        try {
            if (recovered && (maildir.alreadyDelivered(md, name) || maildir.alreadyDelivered(md, maildir.legacyName(arrival, m.id(), key)))) {
                return Outcome.delivered("local", "already delivered to maildir before restart");
            }
            var quota = maildir.quota(mailbox, m.size());
            if (quota != null && quota.exceededBy(m.size())) {
                String text = "mailbox " + mailbox + " is over its quota (" + quota.bytes() + " of " + quota.limitBytes() + " bytes, "
                        + quota.count() + " of " + quota.limitCount() + " messages)";
                // RFC 3463 3.3: X.2.2 mailbox full; temporary unless the site chose to bounce
                return maildir.bounceOverQuota() ? Outcome.permanent("local", Reply.of(552, "5.2.2", text))
                        : Outcome.temporary("local", Reply.of(452, "4.2.2", text));
            }
            java.nio.file.Path written;
            try (InputStream in = spool.openContent(m.id())) {
                written = maildir.deliverTo(md, name, m.envelope().sender().toString(), t.deliveredTo(), in, m.size());
            }
            if (quota != null) dev.postern.deliver.MaildirQuota.record(maildir.maildirOf(mailbox), written);
            return Outcome.delivered("local", t.folder() == null ? "delivered to maildir" : "delivered to maildir folder ." + t.folder());
        } catch (SpoolUnavailable e) {
            throw new SpoolUnavailable.Abandoned(e);
        } catch (IOException e) {
            Reply r = String.valueOf(e.getMessage()).contains("No space left")
                    ? Reply.of(452, "4.2.2", "mailbox file system full")
                    : Reply.of(451, "4.3.0", "cannot write to maildir: " + e);
            return Outcome.temporary("local", r);
        }
    }
}
