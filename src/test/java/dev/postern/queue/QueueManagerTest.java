package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.route.Router;
import dev.postern.route.DnsjavaDns;
import dev.postern.route.MxRouter;
import dev.postern.deliver.SmtpDelivery;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Local delivery through the queue: aliases, one copy per mailbox, idempotence across restarts. */
class QueueManagerTest {
    @TempDir Path dir;

    Set<String> users = Set.of("alice@example.test", "bob@example.test");
    Router router = new Router(Set.of("example.test"),
            Map.of("team@example.test", List.of("alice@example.test", "bob@example.test"),
                    "all@example.test", List.of("team@example.test", "alice@example.test")),
            users::contains, "mx.example.test");

    QueueManager manager(Spool spool) throws Exception {
        // remote mail goes to a port where nothing listens: it must stay queued, deferred
        MxRouter mx = new MxRouter(new DnsjavaDns(List.of(new java.net.InetSocketAddress("127.0.0.1", 9)), java.time.Duration.ofMillis(200)),
                Map.of("remote.test", dev.postern.mail.Nexthop.parse("[127.0.0.1]:9", 25)), null, 25, "mx.example.test", a -> false, new java.util.Random());
        return new QueueManager(spool, router, new MaildirWriter(dir.resolve("mailboxes"), "mx.example.test"), mx,
                new SmtpDelivery(SmtpDelivery.Settings.defaults("mx.example.test")), "mx.example.test",
                Clock.systemUTC(), QueueManager.Times.DEFAULT, 20, 20);
    }

    /** Through the queue's intake, as received mail arrives. */
    QueuedMessage queue(QueueManager m, String... rcpts) throws Exception {
        Intake in = m.receive(envelope(rcpts));
        byte[] b = "Subject: q\r\n\r\nline\r\n".getBytes(StandardCharsets.UTF_8);
        in.write(b, 0, b.length);
        return in.commit(null);
    }

    static Envelope envelope(String... rcpts) {
        var recipients = Stream.of(rcpts).map(r -> new Recipient(Address.parse(r, false))).toList();
        return new Envelope(new ReversePath(new Address("s", "remote.test")), recipients, null, false, null, null,
                "c", "127.0.0.1", null, Clock.systemUTC().instant());
    }

    /** Straight into the spool, as a previous run left it. */
    QueuedMessage queue(Spool spool, String... rcpts) throws Exception {
        Spool.Incoming in = spool.begin(envelope(rcpts));
        byte[] b = "Subject: q\r\n\r\nline\r\n".getBytes(StandardCharsets.UTF_8);
        in.write(b, 0, b.length);
        return in.commit();
    }

    List<Path> mail(String user) throws Exception {
        Path p = dir.resolve("mailboxes/example.test").resolve(user).resolve("Maildir/new");
        if (!Files.isDirectory(p)) return List.of();
        try (var s = Files.list(p)) {
            return s.toList();
        }
    }

    void awaitIdle(QueueManager m) throws InterruptedException {
        for (int i = 0; i < 500 && m.pending() > 0; i++) Thread.sleep(10);
    }

    @Test void aliasesExpandToOneCopyPerMailbox() throws Exception {
        FileSpool spool = new FileSpool(dir.resolve("queue"), Clock.systemUTC());
        try (QueueManager m = manager(spool)) {
            queue(m, "all@example.test", "team@example.test", "alice@example.test");
            awaitIdle(m);
        }
        assertThat(mail("alice")).hasSize(1);
        assertThat(mail("bob")).hasSize(1);
        String content = Files.readString(mail("alice").get(0));
        assertThat(content).isEqualTo("Return-Path: <s@remote.test>\nDelivered-To: alice@example.test\nSubject: q\n\nline\n");
        assertThat(Files.isDirectory(dir.resolve("mailboxes/example.test/alice/Maildir/cur"))).isTrue();
        assertThat(dev.postern.testing.TestServer.list(dir.resolve("mailboxes/example.test/alice/Maildir/tmp"))).isEmpty();
        assertThat(spool.recover()).isEmpty(); // done messages leave the queue
    }

    @Test void redeliveryAfterACrashDoesNotDuplicate() throws Exception {
        redeliveryFindsTheEarlierCopy(false);
    }

    @Test void redeliveryAfterAnUpgradeFindsACopyUnderTheOldName() throws Exception {
        redeliveryFindsTheEarlierCopy(true);
    }

    private void redeliveryFindsTheEarlierCopy(boolean legacyName) throws Exception {
        FileSpool spool = new FileSpool(dir.resolve("queue"), Clock.systemUTC());
        QueuedMessage msg = queue(spool, "alice@example.test");
        // deliver into the Maildir as the first run did, then "crash" before the queue recorded it
        MaildirWriter w = new MaildirWriter(dir.resolve("mailboxes"), "mx.example.test");
        long arrival = msg.envelope().arrival().toEpochMilli();
        String name = legacyName ? w.legacyName(arrival, msg.id(), "alice@example.test") : w.uniqueName(arrival, msg.id(), "alice@example.test");
        try (var in = spool.openContent(msg.id())) {
            w.deliver("alice@example.test", name, "s@remote.test", "alice@example.test", in);
        }
        // a reader may already have moved it to cur/ with flags
        Path cur = dir.resolve("mailboxes/example.test/alice/Maildir/cur");
        Files.move(mail("alice").get(0), cur.resolve(name + ":2,S"));
        try (QueueManager m = manager(spool)) {
            assertThat(m.recover()).isEqualTo(1);
            awaitIdle(m);
        }
        assertThat(mail("alice")).isEmpty();
        assertThat(dev.postern.testing.TestServer.list(cur)).hasSize(1);
        assertThat(spool.recover()).isEmpty();
    }

    @Test void recipientRemovedAfterAcceptanceFailsPermanentlyAndIsBounced() throws Exception {
        FileSpool spool = new FileSpool(dir.resolve("queue"), Clock.systemUTC());
        try (QueueManager m = manager(spool)) {
            queue(m, "carol@example.test", "bob@example.test");
            awaitIdle(m);
        }
        assertThat(mail("bob")).hasSize(1);
        // what is left is the bounce to the (remote, unreachable) sender, from the null sender
        QueuedMessage dsn = spool.recover().get(0);
        assertThat(dsn.envelope().sender().isNull()).isTrue();
        assertThat(dsn.envelope().recipients().get(0).address().toString()).isEqualTo("s@remote.test");
        try (var in = spool.openContent(dsn.id())) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .contains("Final-Recipient: rfc822; carol@example.test").contains("Status: 5.1.1").contains("Action: failed");
        }
    }

    @Test void remoteRecipientsStayQueuedWithState() throws Exception {
        FileSpool spool = new FileSpool(dir.resolve("queue"), Clock.systemUTC());
        try (QueueManager m = manager(spool)) {
            QueuedMessage q = queue(m, "friend@remote.test", "bob@example.test");
            // wait for the first attempt's outcome in memory (recover() on a live spool would race its state writes)
            for (int i = 0; i < 1000 && !firstAttemptDone(m.get(q.id())); i++) Thread.sleep(10);
        }
        QueuedMessage left = new FileSpool(dir.resolve("queue"), Clock.systemUTC()).recover().get(0);
        assertThat(left.recipients().get(0).status()).isEqualTo(RecipientState.Status.DEFERRED);
        assertThat(left.recipients().get(0).nextAttempt()).isNotNull();
        assertThat(left.recipients().get(1).status()).isEqualTo(RecipientState.Status.DELIVERED);
    }

    private static boolean firstAttemptDone(QueuedMessage q) {
        return q != null && q.recipients().stream().noneMatch(r -> r.status() == RecipientState.Status.PENDING);
    }

    @Test void backoffDoublesWithinBounds() {
        Backoff b = Backoff.DEFAULT;
        for (int attempt = 1; attempt < 20; attempt++) {
            long s = b.after(attempt).toSeconds();
            assertThat(s).isBetween(300L, 4000L);
        }
        assertThat(b.after(2).toSeconds()).isBetween(540L, 660L);
    }
}
