package dev.postern.policy;

import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.mail.Cidr;
import dev.postern.route.Router;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The [policy] checks, each in a transcript over a real socket. */
class PolicyTest {

    static Config.Policy policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> zones,
                                int threshold, Map<Cidr, String> access) {
        java.util.Map<String, List<String>> all = new java.util.HashMap<>(Config.Policy.DEFAULT.phases());
        all.putAll(phases);
        return new Config.Policy(all, warnOnly, zones, threshold, access);
    }

    @Test void heloSenderAndRecipientSyntaxChecks() throws Exception {
        Config.Policy p = policy(Map.of(
                "helo", List.of("reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"),
                "mail", List.of("reject_non_fqdn_sender"),
                "rcpt", List.of("reject_non_fqdn_recipient", "permit_mynetworks", "reject_unauth_destination")),
                Set.of(), Map.of(), 1, Map.of());
        try (TestServer server = TestServer.builder().policy(p).start();
             SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220");
            c.command("EHLO bad_name!", "501 5.5.2");
            c.command("EHLO localhostname", "504 5.5.2");
            c.command("EHLO [127.0.0.1]", "250");
            c.command("EHLO client.example", "250");
            c.command("MAIL FROM:<a@nodot>", "504 5.1.7");
            c.command("MAIL FROM:<>", "250 2.1.0");
            c.command("RCPT TO:<alice@example>", "504 5.1.3");
            c.command("RCPT TO:<alice@example.test>", "250 2.1.5");
        }
    }

    @Test void clientNamesAreForwardConfirmedThroughTheConfiguredDns() throws Exception {
        try (TestDnsServer dns = new TestDnsServer().zone(
                "5.2.0.192.in-addr.arpa. IN PTR mail.partner.test.",
                "mail.partner.test. IN A 192.0.2.5",
                "6.2.0.192.in-addr.arpa. IN PTR forged.partner.test.",
                "forged.partner.test. IN A 192.0.2.99")) {
            var d = new dev.postern.route.DnsjavaDns(List.of(dns.address()), java.time.Duration.ofSeconds(2));
            assertThat(DnsChecks.verifiedName(d, java.net.InetAddress.getByName("192.0.2.5"))).isEqualTo("mail.partner.test");
            assertThat(DnsChecks.verifiedName(d, java.net.InetAddress.getByName("192.0.2.6"))).isNull();
            assertThat(DnsChecks.verifiedName(d, java.net.InetAddress.getByName("192.0.2.7"))).isNull();
        }
    }

    @Test void clientsTalkingBeforeTheGreetingAreTurnedAway() throws Exception {
        Config.Policy d = Config.Policy.DEFAULT;
        Config.Policy p = new Config.Policy(d.phases(), d.warnOnly(), d.dnsblZones(), d.dnsblThreshold(), d.clientAccess(),
                d.greylistDelay(), d.greylistRetryWindow(), d.greylistWhitelist(), 0, 0, List.of(), Map.of(), 0, 10,
                java.time.Duration.ofMinutes(10), java.time.Duration.ofMillis(400));
        try (TestServer server = TestServer.builder().policy(p).start()) {
            try (SmtpClient bot = SmtpClient.connect(server.smtp())) {
                bot.raw("EHLO bot.example\r\n"); // before any greeting
                assertThat(bot.reply()).isEqualTo("554 5.5.1 Protocol error: you talked before my greeting");
                assertThat(bot.closedByServer()).isTrue();
            }
            long t0 = System.nanoTime();
            try (SmtpClient polite = SmtpClient.connect(server.smtp())) {
                polite.expect("220");
                assertThat((System.nanoTime() - t0) / 1_000_000).as("greeted after the pause").isGreaterThanOrEqualTo(350);
                polite.command("EHLO client.example", "250");
            }
            try (SmtpClient submitter = SmtpClient.connect(server.submission())) {
                submitter.raw("EHLO client.example\r\n"); // submission is not paused: clients there are ours
                submitter.expect("220");
                submitter.expect("250");
            }
        }
    }

    @Test void dropDisconnectsInAnyPhase() throws Exception {
        Config.Policy p = policy(Map.of("rcpt", List.of("check_client_access", "reject_unauth_destination")), Set.of(), Map.of(), 1,
                Map.of(Cidr.parse("127.0.0.0/8"), "drop"));
        try (TestServer server = TestServer.builder().policy(p).start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            assertThat(c.command("RCPT TO:<alice@example.test>", "521"))
                    .isEqualTo("521 5.7.1 Client host [127.0.0.1] rejected: this server does not accept mail from you");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void senderLoginMismatch() throws Exception {
        Config.Policy p = policy(Map.of("mail", List.of("reject_sender_login_mismatch")), Set.of(), Map.of(), 1, Map.of());
        try (TestServer server = TestServer.builder().policy(p).alias("sales@example.test", "alice@example.test").start()) {
            try (SmtpClient c = SmtpClient.ehlo(server.submission())) {
                c.startTls();
                c.command("EHLO client.example", "250");
                c.authPlain("alice@example.test", TestServer.PASSWORD, "235");
                c.command("MAIL FROM:<alice@example.test>", "250");
                c.command("RSET", "250");
                c.command("MAIL FROM:<Sales@Example.test>", "250"); // an alias that delivers to alice
                c.command("RSET", "250");
                assertThat(c.command("MAIL FROM:<bob@example.test>", "553"))
                        .isEqualTo("553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user alice@example.test");
                c.command("MAIL FROM:<alice@elsewhere.test>", "553 5.7.1");
                c.command("MAIL FROM:<>", "250");
            }
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                assertThat(c.command("MAIL FROM:<bob@example.test>", "553"))
                        .isEqualTo("553 5.7.1 <bob@example.test>: Sender address rejected: not logged in");
                c.command("MAIL FROM:<nobody@example.test>", "250"); // no account owns it
                c.command("RSET", "250");
                c.command("MAIL FROM:<someone@remote.test>", "250");
            }
        }
    }

    @Test void clientAccessAtConnectAndWarnOnly() throws Exception {
        Config.Policy reject = policy(Map.of("connect", List.of("check_client_access")), Set.of(), Map.of(), 1,
                Map.of(Cidr.parse("127.0.0.0/8"), "reject"));
        try (TestServer server = TestServer.builder().policy(reject).start();
             SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("554 5.7.1");
            assertThat(c.closedByServer()).isTrue();
        }
        Config.Policy warn = new Config.Policy(reject.phases(), Set.of("check_client_access"), Map.of(), 1, reject.clientAccess());
        try (TestServer server = TestServer.builder().policy(warn).start();
             SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220"); // only logged
        }
    }

    @Test void dnsblWeightsThresholdAndRefusedQueries() throws Exception {
        try (TestDnsServer dns = new TestDnsServer().zone(
                "1.0.0.127.zen.test. IN A 127.0.0.2",
                "1.0.0.127.weak.test. IN A 127.0.0.10",
                "1.0.0.127.refused.test. IN A 127.255.255.254",
                "1.0.0.127.wl.test. IN A 127.0.10.3")) {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), 25, "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            // refused answers never count; one weak list alone stays under the threshold
            Config.Policy under = policy(Map.of("connect", List.of("check_dnsbl")), Set.of(),
                    Map.of("refused.test", 5, "weak.test", 1), 2, Map.of());
            try (TestServer server = TestServer.builder().delivery(d).policy(under).start();
                 SmtpClient c = SmtpClient.connect(server.smtp())) {
                c.expect("220");
            }
            Config.Policy over = policy(Map.of("rcpt", List.of("check_dnsbl", "permit_mynetworks", "reject_unauth_destination")),
                    Set.of(), Map.of("zen.test", 2, "weak.test", 1), 3, Map.of());
            try (TestServer server = TestServer.builder().delivery(d).policy(over).start();
                 SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<x@remote.test>", "250");
                String r = c.command("RCPT TO:<alice@example.test>", "554 5.7.1");
                assertThat(r).contains("blocked using").contains("zen.test").contains("weak.test");
            }
            // a DNSWL is a list with a negative weight: listed there, the same client passes
            Config.Policy allowed = policy(Map.of("connect", List.of("check_dnsbl")), Set.of(),
                    Map.of("zen.test", 2, "weak.test", 1, "wl.test", -5), 3, Map.of());
            try (TestServer server = TestServer.builder().delivery(d).policy(allowed).start();
                 SmtpClient c = SmtpClient.connect(server.smtp())) {
                c.expect("220");
            }
        }
    }

    @Test void forwardConfirmedReverseDnsAndSenderDomainBlocklist() throws Exception {
        try (TestDnsServer dns = new TestDnsServer().zone(
                "1.0.0.127.in-addr.arpa. IN PTR good.client.test.",
                "good.client.test. IN A 127.0.0.1",
                "1.2.0.127.in-addr.arpa. IN PTR liar.client.test.",
                "liar.client.test. IN A 192.0.2.99",
                "spammy.test.dbl.test. IN A 127.0.1.2")
                .servfail("1.3.0.127.in-addr.arpa")) {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), 25, "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            Config.Policy p = new Config.Policy(new java.util.HashMap<>(Map.of(
                    "connect", List.of("reject_unknown_client_hostname"),
                    "mail", List.of("check_sender_dbl"),
                    "rcpt", Config.Policy.DEFAULT.phases().get("rcpt"))), Set.of(), Map.of(), 1, Map.of(),
                    java.time.Duration.ofMinutes(5), java.time.Duration.ofDays(2), java.time.Duration.ofDays(36), 0, 0, List.of("dbl.test"));
            try (TestServer server = TestServer.builder().delivery(d).policy(p).start()) {
                try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                    c.expect("220"); // 127.0.0.1 → good.client.test → 127.0.0.1
                    c.command("EHLO client.example", "250");
                    c.command("MAIL FROM:<someone@spammy.test>", "554 5.7.1");
                    c.command("MAIL FROM:<someone@fine.test>", "250");
                }
                try (SmtpClient c = SmtpClient.connectFrom("127.0.1.1", server.smtp())) {
                    c.expect("550 5.7.25"); // no PTR at all
                }
                try (SmtpClient c = SmtpClient.connectFrom("127.0.2.1", server.smtp())) {
                    c.expect("550 5.7.25"); // the PTR name does not lead back
                }
                try (SmtpClient c = SmtpClient.connectFrom("127.0.3.1", server.smtp())) {
                    c.expect("421 4.7.25"); // DNS failed: try later (a refusal at connect closes with 421)
                }
            }
        }
    }

    @Test void accessListsBySenderRecipientAndHostnameReloadWithoutRestart() throws Exception {
        TestServer server = null;
        Path dir = java.nio.file.Files.createTempDirectory("access");
        try {
            Path senders = Files.writeString(dir.resolve("senders"), "# blocked senders\nspammer@bad.test reject Go away\n.evil.test reject\n");
            Path rcpts = Files.writeString(dir.resolve("rcpts"), "bob@example.test defer Mailbox moving\n");
            Path hosts = Files.writeString(dir.resolve("hosts"), "unknown permit\n");
            Config.Policy p = new Config.Policy(new java.util.HashMap<>(Map.of(
                    "connect", List.of("check_client_hostname_access"),
                    "mail", List.of("check_sender_access"),
                    "rcpt", List.of("check_recipient_access", "permit_mynetworks", "reject_unauth_destination"))),
                    Set.of(), Map.of(), 1, Map.of(), java.time.Duration.ofMinutes(5), java.time.Duration.ofDays(2),
                    java.time.Duration.ofDays(36), 0, 0, List.of(),
                    Map.of("sender_access", senders, "recipient_access", rcpts, "client_hostname_access", hosts));
            server = TestServer.builder().policy(p).start();
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<spammer@bad.test>", "554 5.7.1");
                c.command("MAIL FROM:<anyone@mail.evil.test>", "554 5.7.1");
                c.command("MAIL FROM:<friend@good.test>", "250");
                c.command("RCPT TO:<bob@example.test>", "450 4.7.1");
                c.command("RCPT TO:<alice@example.test>", "250");
            }
            // localhost clients are now refused by host name; the file is re-read on request
            Files.writeString(hosts, "localhost reject Not from here\n");
            String port = Files.readString(server.config.adminPortFile()).strip();
            String token = Files.readString(server.config.adminTokenFile()).strip();
            var r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + port + "/policy/reload")).header("Authorization", "Bearer " + token)
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                assertThat(c.expect("554 5.7.1")).contains("Not from here");
            }
            // a broken file is refused; the table in force stays
            Files.writeString(hosts, "localhost maybe\n");
            server.server.reloadTables();
            try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                c.expect("554 5.7.1");
            }
        } finally {
            if (server != null) server.close();
        }
    }

    @Test void configurationMistakesNameKeyAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.toml");
        Files.writeString(f, """
                [policy]
                helo = ["reject_invalid_helo_hostname", "reject_bogus"]
                rcpt = ["permit_mynetworks"]
                mail = ["reject_unauth_destination", "check_dnsbl"]
                [policy.client_access]
                "10.0.0.0/8" = "maybe"
                """);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f, false));
        assertThat(e.problems())
                .anyMatch(p -> p.contains("p.toml:2: policy.helo: unknown check \"reject_bogus\""))
                .anyMatch(p -> p.contains("p.toml:3: policy.rcpt: must contain reject_unauth_destination"))
                .anyMatch(p -> p.contains("p.toml:4: policy.mail: reject_unauth_destination needs a recipient"))
                .anyMatch(p -> p.contains("policy.dnsbl: check_dnsbl is used but no [policy.dnsbl] zones"))
                .anyMatch(p -> p.contains("p.toml:6: policy.client_access.10.0.0.0/8: expected \"permit\", \"reject\", \"defer\" or \"drop\""));
    }

    @Test void everyConfigurableNameHasACheck(@TempDir Path dir) throws Exception {
        Router router = new Router(Set.of("example.test"), Map.of(), a -> false, "mx.example.test");
        Path empty = Files.writeString(dir.resolve("empty"), "");
        Map<String, AccessTable> tables = new java.util.HashMap<>();
        for (String t : Config.Policy.ACCESS_TABLES) tables.put(t, new AccessTable(empty));
        CheckFactory f = new CheckFactory(router, List.of(), Map.of(), null, Map.of("zen.test", 1), 1,
                new Greylist(Greylist.Settings.DEFAULT, java.time.Clock.systemUTC(), null), new RateLimit(1, 1, java.time.Clock.systemUTC()),
                List.of("dbl.test"), tables, new SpfResults(new Spf(null, "mx.example.test"), java.time.Clock.systemUTC()),
                new AuthFailures(10, 600_000, java.time.Clock.systemUTC()))
                .withVerifier(new RecipientVerifier(router, a -> new java.util.concurrent.CompletableFuture<>(), java.time.Clock.systemUTC(),
                        java.time.Duration.ofDays(1), java.time.Duration.ofHours(1), java.time.Duration.ofSeconds(30), null));
        for (String name : Config.Policy.CHECKS) assertThat(f.create(name).name()).isEqualTo(name);
    }
}
