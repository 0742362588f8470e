package dev.postern.queue;

import dev.postern.testing.LogOnFailure;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** [queue.classes]: a user's mail is never stuck behind bulk mail for a slow destination. */
@ExtendWith(LogOnFailure.class)
class PriorityClassesTest {
    static final int BULK = 5_000;

    /** On one node, and on a cluster node (queue in PostgreSQL: the class is stored with the message). */
    @org.junit.jupiter.params.ParameterizedTest @org.junit.jupiter.params.provider.ValueSource(strings = {"single", "cluster"})
    void aUsersMessageOvertakesFiveThousandBulkMessagesToASlowPeer(String mode) throws Exception {
        dev.postern.config.Config.Cluster cluster = null;
        if (mode.equals("cluster")) {
            cluster = dev.postern.testing.TestPostgres.get().cluster(null, "node1");
            try (dev.postern.store.Database db = dev.postern.store.Database.open(cluster, 2)) {
                db.migrate();
            }
        }
        List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>(); // the acceptor adds, the test closes
        try (ServerSocket slow = silentPeer(held);
             ScriptedPeer fast = new ScriptedPeer("127.0.0.3")) {
            try (TestServer server = TestServer.builder().relayNetworks("127.0.0.1/32").cluster(cluster)
                    .transport("slow.test", "[127.0.0.2]:" + slow.getLocalPort())
                    .transport("fast.test", "[127.0.0.3]:" + fast.port()).start()) {
                ExecutorService senders = Executors.newFixedThreadPool(4);
                List<Future<?>> sent = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    sent.add(senders.submit(() -> {
                        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                            for (int i = 0; i < BULK / 4; i++) {
                                assertThat(c.sendMail("news@lists.example.org", "reader@slow.test",
                                        "Precedence: bulk\r\nSubject: issue " + i + "\r\n\r\nnews")).startsWith("250");
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : sent) f.get();
                senders.shutdown();
                String metrics = server.metrics();
                assertThat(waiting(metrics, "bulk")).as("bulk mail is queued up behind the slow peer\n" + metrics).isGreaterThan(1000);

                long start = System.nanoTime();
                try (SmtpClient c = SmtpClient.ehlo(server.submission())) {
                    c.startTls();
                    c.command("EHLO client.example", "250");
                    c.authPlain("alice@example.test", TestServer.PASSWORD, "235");
                    assertThat(c.sendMail("alice@example.test", "carol@fast.test", "Subject: lunch?\r\n\r\nat noon")).startsWith("250");
                }
                long deadline = System.currentTimeMillis() + 10_000;
                while (fast.received.isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(20);
                assertThat(fast.received).as("the user's message was delivered within seconds").hasSize(1);
                System.out.printf("user's message delivered %d ms after acceptance began, %d bulk messages waiting%n",
                        (System.nanoTime() - start) / 1_000_000, waiting(server.metrics(), "bulk"));
                assertThat(fast.received.get(0).text()).contains("at noon");
                assertThat(waiting(server.metrics(), "bulk")).as("the bulk mail is still stuck").isGreaterThan(1000);
            }
        } finally {
            for (Socket s : held) s.close();
        }
    }

    @Test void anAccessFilesBulkActionClassifiesTheTransactionsMessageOnly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path senders = java.nio.file.Files.writeString(dir.resolve("senders"), "newsletter@shop.test bulk\n");
        var policy = new dev.postern.config.Config.Policy(new java.util.HashMap<>(java.util.Map.of(
                "mail", List.of("check_sender_access"), "rcpt", List.of("permit_mynetworks", "reject_unauth_destination"))),
                java.util.Set.of(), java.util.Map.of(), 1, java.util.Map.of(), java.time.Duration.ofMinutes(5), java.time.Duration.ofDays(2),
                java.time.Duration.ofDays(36), 0, 0, List.of(), java.util.Map.of("sender_access", senders));
        List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>(); // the acceptor adds, the test closes
        try (ServerSocket silent = silentPeer(held)) {
            try (TestServer server = TestServer.builder().relayNetworks("127.0.0.1/32").policy(policy)
                    .transport("remote.test", "[127.0.0.2]:" + silent.getLocalPort()).start()) {
                try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                    assertThat(c.sendMail("newsletter@shop.test", "a@remote.test", "Subject: offers\r\n\r\nbuy")).startsWith("250");
                    assertThat(c.sendMail("friend@elsewhere.test", "b@remote.test", "Subject: hi\r\n\r\nhello")).startsWith("250");
                }
                long deadline = System.currentTimeMillis() + 10_000;
                while (System.currentTimeMillis() < deadline && running(server.metrics(), "relay") + running(server.metrics(), "bulk") < 2) {
                    Thread.sleep(20);
                }
                String m = server.metrics();
                assertThat(running(m, "bulk")).as("the access file's bulk sender\n" + m).isEqualTo(1);
                assertThat(running(m, "relay")).as("the next transaction is not bulk").isEqualTo(1);
                assertThat(m).contains("postern_policy_refusals_total{check=\"check_sender_access\",action=\"classify-bulk\"} 1");
            }
        } finally {
            for (Socket s : held) s.close();
        }
    }

    /** A reload's class settings reach a cluster node's queue too (a class's own backoff, here). */
    @Test void aClusterNodeTakesNewClassSettingsWhenReconfigured() throws Exception {
        dev.postern.config.Config.Cluster cluster = dev.postern.testing.TestPostgres.get().cluster(null, "node1");
        try (dev.postern.store.Database db = dev.postern.store.Database.open(cluster, 2)) {
            db.migrate();
        }
        try (ScriptedPeer later = new ScriptedPeer("127.0.0.3")) {
            later.rcptReply = rcpt -> "451 4.3.0 try again later";
            try (TestServer server = TestServer.builder().relayNetworks("127.0.0.1/32").cluster(cluster)
                    .transport("later.test", "[127.0.0.3]:" + later.port()).start()) {
                var classes = new java.util.EnumMap<PriorityClass, QueueManager.ClassSettings>(QueueManager.ClassSettings.DEFAULTS);
                classes.put(PriorityClass.BULK, new QueueManager.ClassSettings(10, java.time.Duration.ofHours(2), java.time.Duration.ofHours(4)));
                server.server.queue().reconfigure(QueueManager.Times.DEFAULT, classes);
                String bulk, person;
                try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                    String r = c.sendMail("news@lists.example.org", "a@later.test", "Precedence: bulk\r\nSubject: news\r\n\r\nnews");
                    bulk = r.substring(r.lastIndexOf(' ') + 1);
                    r = c.sendMail("friend@example.org", "b@later.test", "Subject: hi\r\n\r\nhello");
                    person = r.substring(r.lastIndexOf(' ') + 1);
                }
                java.time.Instant sent = java.time.Instant.now();
                long deadline = System.currentTimeMillis() + 10_000;
                while (System.currentTimeMillis() < deadline && (nextAttempt(server, bulk) == null || nextAttempt(server, person) == null)) Thread.sleep(50);
                assertThat(nextAttempt(server, bulk)).as("bulk mail waits its class's backoff (2 h, jittered)")
                        .isAfter(sent.plus(java.time.Duration.ofMinutes(90)));
                assertThat(nextAttempt(server, person)).as("other mail the queue's (5 min)")
                        .isBefore(sent.plus(java.time.Duration.ofMinutes(15)));
            }
        }
    }

    /** The next attempt of a deferred message's first recipient; null until its first attempt was recorded. */
    private static java.time.Instant nextAttempt(TestServer server, String id) {
        QueuedMessage m = server.server.queue().get(id);
        return m == null || m.recipients().get(0).attempts() == 0 ? null : m.recipients().get(0).nextAttempt();
    }

    /** A peer on 127.0.0.2 that accepts connections and never says a word: every attempt holds its thread. */
    private static ServerSocket silentPeer(List<Socket> held) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress("127.0.0.2", 0), 1000);
        Thread acceptor = new Thread(() -> {
            try {
                while (true) held.add(s.accept());
            } catch (IOException closed) {
                // test over
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        return s;
    }

    private static long running(String metrics, String cls) {
        return metrics.lines().filter(l -> l.startsWith("postern_queue_class_running{class=\"" + cls + "\"}"))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test void precedenceHeaderIsRecognisedInTheHeaderOnlyWhereverTheChunksEnd() {
        assertThat(sniff("Subject: x\r\nPrecedence: bulk\r\n\r\nbody")).isTrue();
        assertThat(sniff("PRECEDENCE:  List \r\n\r\n")).isTrue();
        assertThat(sniff("Precedence:\r\n junk\r\n\r\n")).isTrue(); // folded
        assertThat(sniff("Precedence: first-class\r\n\r\n")).isFalse();
        assertThat(sniff("X-Precedence: bulk\r\n\r\n")).isFalse();
        assertThat(sniff("Subject: x\r\n\r\nPrecedence: bulk\r\n")).isFalse(); // in the body
        assertThat(sniff("Subject: Precedence: bulk\r\n\r\n")).isFalse();
    }

    private static boolean sniff(String message) {
        byte[] b = message.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int chunk = 1; chunk <= b.length; chunk++) { // every split point gives the same answer
            PrecedenceSniffer p = new PrecedenceSniffer();
            for (int off = 0; off < b.length; off += chunk) p.accept(b, off, Math.min(chunk, b.length - off));
            boolean whole = sniffWhole(b);
            assertThat(p.bulk()).as("chunks of " + chunk).isEqualTo(whole);
        }
        return sniffWhole(b);
    }

    private static boolean sniffWhole(byte[] b) {
        PrecedenceSniffer p = new PrecedenceSniffer();
        p.accept(b, 0, b.length);
        return p.bulk();
    }

    @Test void classesFollowTheEnvelopeAndTheHeader() {
        var anon = envelope("someone@example.org", null);
        assertThat(PriorityClass.of(envelope("", null), false, false)).isEqualTo(PriorityClass.NOTICES);
        assertThat(PriorityClass.of(anon, true, false)).isEqualTo(PriorityClass.NOTICES);
        assertThat(PriorityClass.of(envelope("alice@example.test", "alice@example.test"), false, false)).isEqualTo(PriorityClass.SUBMISSION);
        assertThat(PriorityClass.of(envelope("list@example.test", "list@example.test"), false, true)).isEqualTo(PriorityClass.BULK);
        assertThat(PriorityClass.of(anon, false, true)).isEqualTo(PriorityClass.BULK);
        assertThat(PriorityClass.of(anon, false, false)).isEqualTo(PriorityClass.RELAY);
    }

    private static dev.postern.mail.Envelope envelope(String sender, String authUser) {
        var from = sender.isEmpty() ? dev.postern.mail.ReversePath.NULL : new dev.postern.mail.ReversePath(dev.postern.mail.Address.parse(sender, false));
        return new dev.postern.mail.Envelope(from, List.of(new dev.postern.mail.Recipient(dev.postern.mail.Address.parse("x@example.test", false))),
                "7BIT", false, null, null, "client.example", "127.0.0.1", authUser,
                java.time.Instant.now(), false);
    }

    private static long waiting(String metrics, String cls) {
        return metrics.lines().filter(l -> l.startsWith("postern_queue_class_waiting{class=\"" + cls + "\"}"))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
