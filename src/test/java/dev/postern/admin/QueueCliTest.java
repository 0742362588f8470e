package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** "postern queue ..." against a running server through its loopback admin endpoint. */
class QueueCliTest {
    TestServer server;
    Path config;

    @BeforeEach void start() throws Exception { start(null); }

    /** cluster: null for a single node, else the node's [cluster] (the queue then lives in PostgreSQL). */
    void start(Config.Cluster cluster) throws Exception {
        if (server != null) server.close();
        // remote mail goes to a port where nothing listens, so it stays deferred in the queue
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(), 9, "mx.example.test", null, Config.TlsMode.MAY, 20, 100);
        server = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).transport("remote.test", "[127.0.0.2]:9")
                .cluster(cluster).start();
        config = server.dir.resolve("cli.toml");
        Files.writeString(config, "data_dir = \"data\"\ndomains = [\"example.test\"]\n");
    }

    @AfterEach void stop() throws Exception { server.close(); }

    String queue(String from) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            String r = c.sendMail(from, "friend@remote.test", "Subject: stuck\r\n\r\nhi");
            return r.substring(r.lastIndexOf(' ') + 1);
        }
    }

    record Run(int code, String out, String err) {}

    Run cli(String... args) { return cli(config, args); }

    /** Runs the CLI in process against the server whose data directory the config names. */
    static Run cli(Path config, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            String[] all = new String[args.length + 2];
            System.arraycopy(args, 0, all, 0, args.length);
            all[args.length] = "--config";
            all[args.length + 1] = config.toString();
            return new Run(Cli.run(all), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    void awaitAttempt(String id) throws Exception {
        for (int i = 0; i < 500; i++) {
            var m = server.server.queue().get(id);
            if (m != null && m.recipients().get(0).attempts() > 0 && server.server.queue().pending() == 0) return;
            Thread.sleep(10);
        }
        throw new AssertionError("no attempt for " + id);
    }

    @org.junit.jupiter.params.ParameterizedTest @org.junit.jupiter.params.provider.ValueSource(strings = {"single", "cluster"})
    void listShowHoldReleaseRetryDeleteBounce(String mode) throws Exception {
        if (mode.equals("cluster")) {
            Config.Cluster cluster = dev.postern.testing.TestPostgres.get().cluster(null, "node1");
            try (dev.postern.store.Database db = dev.postern.store.Database.open(cluster, 2)) {
                db.migrate();
            }
            start(cluster);
        }
        String id = queue("alice@example.test");
        String other = queue("bob@example.test");
        awaitAttempt(id);
        awaitAttempt(other);

        Run list = cli("queue", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains(id).contains(other).contains("alice@example.test").contains("deferred")
                .contains("friend@remote.test").contains("attempts=1").contains("451 4.4.1").contains("-- 2 message(s)");

        Run show = cli("queue", "show", id, "--json");
        assertThat(show.out()).contains("\"id\" : \"" + id + "\"").contains("\"status\" : \"deferred\"").contains("\"next_attempt\"");

        assertThat(cli("queue", "hold", id).out()).contains("hold " + id);
        assertThat(cli("queue", "list").out()).contains(id + "!");
        assertThat(server.server.queue().get(id).held()).isTrue();
        assertThat(cli("queue", "retry", id).code()).isZero();
        Thread.sleep(200);
        assertThat(server.server.queue().get(id).recipients().get(0).attempts()).as("held messages are not tried").isEqualTo(1);
        assertThat(cli("queue", "release", id).code()).isZero();
        awaitAttempts(id, 2);

        assertThat(cli("queue", "flush").out()).contains("flushed");
        awaitAttempts(other, 2);

        assertThat(cli("queue", "delete", other).code()).isZero();
        assertThat(server.server.queue().get(other)).isNull();
        assertThat(cli("queue", "bounce", id).code()).isZero();
        assertThat(Files.readString(server.awaitMail("alice@example.test", 1).get(0))).contains("Action: failed")
                .contains("message returned by the administrator");
        assertThat(cli("queue", "show", "NOSUCHID00000X").err()).contains("no such message");
        server.awaitQueueIdle();
        assertThat(cli("queue", "list").out()).contains("Mail queue is empty");
    }

    @Test void searchActOnTheMatchesAndTrace() throws Exception {
        String alices = queue("alice@example.test");
        String bobs = queue("bob@example.test");
        awaitAttempt(alices);
        awaitAttempt(bobs);
        Run found = cli("queue", "list", "--sender", "BOB@", "--status", "deferred");
        assertThat(found.out()).contains(bobs).doesNotContain(alices).contains("-- 1 message(s)");
        assertThat(cli("queue", "hold").err()).contains("needs a queue id, a search or --all");
        Run held = cli("queue", "hold", "--domain", "remote.test");
        assertThat(held.out()).contains("hold " + alices).contains("hold " + bobs).contains("-- 2 of 2 matching message(s)");
        assertThat(server.server.queue().get(bobs).held()).isTrue();
        assertThat(cli("queue", "release", "--all").out()).contains("-- 2 of 2");
        assertThat(cli("queue", "list", "--status", "nonsense").err()).contains("status: one of held, deferred, pending");

        Run trace = cli("trace", alices);
        assertThat(trace.code()).isZero();
        assertThat(trace.out()).contains("from=<alice@example.test>").contains("to=<friend@remote.test>").contains("status=deferred")
                .contains("released by administrator").contains("-- " + alices + " is queued:");
        assertThat(cli("queue", "delete", alices).code()).isZero();
        assertThat(cli("trace", alices).out()).contains("deleted by administrator").contains("is no longer in the queue");
        assertThat(cli("trace", "NoSuchId0000000").err()).contains("nothing known of NoSuchId0000000");
    }

    void awaitAttempts(String id, int n) throws Exception {
        for (int i = 0; i < 500; i++) {
            var m = server.server.queue().get(id);
            if (m != null && m.recipients().get(0).attempts() >= n && server.server.queue().pending() == 0) return;
            Thread.sleep(10);
        }
        throw new AssertionError("attempt " + n + " did not happen for " + id);
    }

    /** The README's "Try it": user add, then mail to the account at once (a 1 s refresh used to answer 550). */
    @Test void accountChangesMadeWithTheCliTakeEffectBeforeTheCommandReturns() throws Exception {
        start(null);
        for (int i = 0; i < 5; i++) {
            String user = "new" + i + "@example.test";
            java.io.InputStream oldIn = System.in;
            try {
                System.setIn(new java.io.ByteArrayInputStream(("secret" + i + "\n").getBytes(StandardCharsets.UTF_8)));
                assertThat(cli("user", "add", user, "--password-stdin").code()).isZero();
            } finally {
                System.setIn(oldIn);
            }
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<x@remote.test>", "250");
                c.command("RCPT TO:<" + user + ">", "250");
            }
            assertThat(cli("user", "remove", user).code()).isZero();
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<x@remote.test>", "250");
                c.command("RCPT TO:<" + user + ">", "550");
            }
        }
        // with no server running, the change is simply there for the next start
        server.stop();
        java.io.InputStream oldIn = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("x\n".getBytes(StandardCharsets.UTF_8)));
            Run r = cli("user", "add", "later@example.test", "--password-stdin");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.err()).isEmpty();
        } finally {
            System.setIn(oldIn);
        }
    }

    @Test void endpointRefusesRequestsWithoutTheToken() throws Exception {
        String port = Files.readString(server.config.adminPortFile()).strip();
        var r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/queue"))
                .header("Authorization", "Bearer wrong").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(server.config.adminTokenFile()))).isEqualTo("rw-------");
    }

    @Test void metricsCountAcceptedMessagesAndQueueFsyncs() throws Exception {
        queue("alice@example.test");
        queue("bob@example.test");
        String body = server.metrics();
        assertThat(body).contains("postern_smtp_messages_accepted_total 2\n").contains("postern_queue_messages 2\n")
                .containsPattern("postern_queue_log_fsyncs_total [1-9]").containsPattern("postern_smtp_connections_open \\d");
    }
}
