package dev.postern.cluster;

import dev.postern.config.Config;
import dev.postern.store.Database;
import dev.postern.testing.MutableClock;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestPostgres;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * State every node must agree on, over real sockets against nodes on 127.0.0.2-4 sharing one database:
 * accounts, greylist triplets, rate-limit counters and failed-AUTH counts.
 */
class ClusterStateTest {
    final List<TestServer> nodes = new ArrayList<>();
    String database;

    @AfterEach void stop() throws Exception {
        for (TestServer s : nodes) s.close();
    }

    List<TestServer> start(int count, Config.Policy policy, MutableClock clock) throws Exception {
        return start(count, policy, clock, b -> b);
    }

    List<TestServer> start(int count, Config.Policy policy, MutableClock clock,
                           java.util.function.UnaryOperator<TestServer.Builder> more) throws Exception {
        database = TestPostgres.get().newDatabase();
        try (Database db = Database.open(TestPostgres.get().cluster(database, "migrate"), 2)) {
            db.migrate();
        }
        for (int i = 1; i <= count; i++) {
            var b = TestServer.builder().listenOn("127.0.0." + (i + 1)).cluster(TestPostgres.get().cluster(database, "node" + i));
            if (policy != null) b.policy(policy);
            if (clock != null) b.clock(clock);
            nodes.add(more.apply(b).start());
        }
        return nodes;
    }

    String host(int node) { return "127.0.0." + (node + 1); }

    static Config.Policy policy(List<String> rcpt, int recipientsPerMinute, int authFailureLimit) {
        Map<String, List<String>> phases = new HashMap<>(Config.Policy.DEFAULT.phases());
        phases.put("rcpt", rcpt);
        return new Config.Policy(phases, Set.of(), Map.of(), 1, Map.of(), Duration.ofMinutes(5), Duration.ofDays(2),
                Duration.ofDays(36), 0, recipientsPerMinute, List.of(), Map.of(), 0, authFailureLimit, Duration.ofMinutes(10));
    }

    String rcpt(int node, String from, String source, String to) throws Exception {
        try (SmtpClient c = SmtpClient.connectFrom(source, host(node), nodes.get(node - 1).smtp())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.command("MAIL FROM:<" + from + ">", "250");
            return c.command("RCPT TO:<" + to + ">", "");
        }
    }

    String auth(int node, String user, String password) throws Exception {
        try (SmtpClient c = SmtpClient.connect(host(node), nodes.get(node - 1).submission())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.startTls();
            c.command("EHLO client.example", "250");
            String token = java.util.Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
            return c.command("AUTH PLAIN " + token, "");
        }
    }

    @Test void anAccountAddedThroughNodeOneAuthenticatesOnNodeThreeWithinASecond() throws Exception {
        start(3, null, null);
        Path cfg = nodes.get(0).dir.resolve("cli.toml");
        Files.writeString(cfg, """
                domains = ["example.test"]
                [cluster]
                database = "%s"
                user = "%s"
                node_name = "admin"
                """.formatted(database, TestPostgres.USER));
        assertThat(auth(3, "carol@example.test", "s3cret")).startsWith("535");
        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("s3cret\n".getBytes(StandardCharsets.UTF_8)));
            assertThat(ClusterTest.cli("user", "add", "carol@example.test", "--password-stdin", "--config", cfg.toString()).code()).isZero();
        } finally {
            System.setIn(stdin);
        }
        long added = System.currentTimeMillis();
        String reply = "";
        while (System.currentTimeMillis() - added < 3000 && !(reply = auth(3, "carol@example.test", "s3cret")).startsWith("235")) Thread.sleep(100);
        assertThat(reply).startsWith("235");
        assertThat(System.currentTimeMillis() - added).as("ms until node 3 accepts the new login").isLessThan(1500);
        assertThat(ClusterTest.cli("user", "list", "--config", cfg.toString()).out()).contains("carol@example.test").contains("alice@example.test");
    }

    @Test void aTripletGreylistedByNodeOnePassesAtNodeTwo() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        start(2, policy(List.of("permit_authenticated", "reject_unauth_destination", "greylist"), 0, 10), clock);
        assertThat(rcpt(1, "a@remote.test", "127.0.1.1", "alice@example.test")).startsWith("451 4.7.1 Greylisted");
        clock.advance(Duration.ofMinutes(6));
        assertThat(rcpt(2, "a@remote.test", "127.0.1.1", "alice@example.test")).as("node 2's first sight of it: a retry").startsWith("250 2.1.5");
        // the network passed: node 1 knows it too
        assertThat(rcpt(1, "other@remote.test", "127.0.1.9", "bob@example.test")).startsWith("250 2.1.5");
    }

    @Test void aRateLimitCountsAcrossNodes() throws Exception {
        start(2, policy(List.of("rate_limit", "permit_authenticated", "reject_unauth_destination"), 3, 10), null);
        assertThat(rcpt(1, "a@remote.test", "127.0.1.1", "alice@example.test")).startsWith("250");
        assertThat(rcpt(1, "a@remote.test", "127.0.1.1", "alice@example.test")).startsWith("250");
        assertThat(rcpt(2, "a@remote.test", "127.0.1.1", "alice@example.test")).startsWith("250");
        assertThat(rcpt(2, "a@remote.test", "127.0.1.1", "alice@example.test")).as("fourth in the minute, counted across nodes")
                .startsWith("450 4.7.1");
        assertThat(rcpt(1, "a@remote.test", "127.0.1.2", "alice@example.test")).as("another address has its own count").startsWith("250");
    }

    @Test void dmarcRowsOfEveryNodeMakeOneReportThatOneNodeSends() throws Exception {
        start(1, null, null);
        var clock = java.time.Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), java.time.ZoneOffset.UTC);
        var rec = Map.of("p", "reject", "rua", "mailto:agg@partner.test");
        var pass = new dev.postern.policy.Dmarc.Evaluation(dev.postern.policy.Dmarc.Result.PASS, "partner.test", "partner.test",
                dev.postern.policy.Dmarc.Disposition.REJECT, dev.postern.policy.Dmarc.Disposition.NONE, true, true, rec, "");
        var spf = new dev.postern.policy.Spf.Outcome(dev.postern.policy.Spf.Result.PASS, "partner.test", "");
        try (Database a = Database.open(TestPostgres.get().cluster(database, "nodeA"), 2);
             Database b = Database.open(TestPostgres.get().cluster(database, "nodeB"), 2)) {
            var onA = new dev.postern.policy.PgPolicyState(a);
            var onB = new dev.postern.policy.PgPolicyState(b);
            // as two nodes record what they evaluated
            for (var shared : List.of(onA, onB, onB)) {
                new dev.postern.policy.DmarcReports(Path.of("unused"), clock, shared)
                        .record("192.0.2.1", pass, "a@partner.test", spf, List.of(Map.entry("partner.test", "pass")), "none");
            }
            java.time.LocalDate day = java.time.LocalDate.parse("2026-11-23");
            long t0 = System.currentTimeMillis();
            while (onA.dmarcRows(day).size() < 3 && System.currentTimeMillis() - t0 < 5000) Thread.sleep(50);
            Path cfg = nodes.get(0).dir.resolve("cli.toml");
            Files.writeString(cfg, """
                    data_dir = "cli-data"
                    domains = ["example.test"]
                    [cluster]
                    database = "%s"
                    user = "%s"
                    """.formatted(database, TestPostgres.USER));
            ClusterTest.Run r = ClusterTest.cli("dmarc", "report", "--day", "2026-11-23", "--config", cfg.toString());
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).as("one report with both nodes' messages").contains("3 messages").contains("mailto:agg@partner.test");
            assertThat(onA.claimDmarcDay(day, "nodeA")).as("the first node to ask sends the day").isTrue();
            assertThat(onB.claimDmarcDay(day, "nodeB")).as("the others never do").isFalse();
        }
    }

    @Test void oneNodesAdminTokenWorksOnEveryNodeAndBothShowTheWholeQueue() throws Exception {
        // remote.test leads nowhere: the message stays in the queue, deferred
        start(2, null, null, b -> b.relayNetworks("127.0.0.1/32").transport("remote.test", "[127.0.0.1]:9"));
        String id;
        try (SmtpClient c = SmtpClient.connectFrom("127.0.0.1", host(1), nodes.get(0).smtp())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            String r = c.sendMail("alice@example.test", "friend@remote.test", "Subject: stays\r\n\r\nhi");
            id = r.substring(r.lastIndexOf(' ') + 1);
        }
        String tokenOf1 = Files.readString(nodes.get(0).config.adminTokenFile()).strip();
        String portOf2 = Files.readString(nodes.get(1).config.adminPortFile()).strip();
        var http = java.net.http.HttpClient.newHttpClient();
        var get = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + portOf2 + "/queue"));
        var onNode2 = http.send(get.header("Authorization", "Bearer " + tokenOf1).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(onNode2.statusCode()).as("node 1's token on node 2").isEqualTo(200);
        assertThat(onNode2.body()).as("node 2 shows the message node 1 received").contains(id);
        assertThat(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + portOf2 + "/queue"))
                .header("Authorization", "Bearer " + (tokenOf1.charAt(0) == '0' ? '1' : '0') + tokenOf1.substring(1)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString())
                .statusCode()).as("anything else").isEqualTo(401);
    }

    @Test void failedLoginsCountAcrossNodes() throws Exception {
        start(2, policy(Config.Policy.DEFAULT.phases().get("rcpt"), 0, 2), null);
        assertThat(auth(1, "alice@example.test", "wrong")).startsWith("535");
        assertThat(auth(1, "alice@example.test", "wrong")).startsWith("535");
        long t0 = System.currentTimeMillis();
        String reply = "";
        while (System.currentTimeMillis() - t0 < 3000 && !(reply = auth(2, "alice@example.test", TestServer.PASSWORD)).startsWith("454")) Thread.sleep(100);
        assertThat(reply).as("node 2 turns the address away after its failures at node 1").startsWith("454");
    }
}
