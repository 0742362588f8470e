package dev.postern.deliver;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.postern.config.Config;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestCa;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * MTA-STS when sending (RFC 8461), against real parts on loopback: policies served over HTTPS by the JDK's
 * HttpsServer with a certificate from the test CA, _mta-sts TXT records and MX records from a loopback DNS
 * server, and Postern receivers with a CA-issued or a self-signed certificate.
 */
class MtaStsTest {
    private static final Map<String, String> POLICIES = Map.of(
            "mta-sts.enforce.test", "version: STSv1\r\nmode: enforce\r\nmx: mx.enforce.test\r\nmax_age: 86400\r\n",
            "mta-sts.good.test", "version: STSv1\nmode: enforce\nmx: *.good.test\nmax_age: 86400\n",
            "mta-sts.testing.test", "version: STSv1\r\nmode: testing\r\nmx: mx.testing.test\r\nmax_age: 86400\r\n",
            "mta-sts.other.test", "version: STSv1\r\nmode: enforce\r\nmx: mx.other.test\r\nmax_age: 86400\r\n");

    @Test void enforceDefersBadPeersAndForeignMxTestingDeliversAndPoliciesSurviveARestart(@TempDir Path dir) throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] web = ca.issue("web", "mta-sts.enforce.test", "mta-sts.good.test", "mta-sts.testing.test", "mta-sts.other.test",
                "mta-sts.broken.test");
        Path[] good = ca.issue("good", "mx1.good.test");
        int smtpPort;
        try (ServerSocket s = new ServerSocket(0)) {
            smtpPort = s.getLocalPort();
        }
        HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.9", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ScriptedPeer.contextFor(web[0], web[1])));
        List<String> fetched = new java.util.concurrent.CopyOnWriteArrayList<>();
        https.createContext("/.well-known/mta-sts.txt", ex -> {
            String host = ex.getRequestHeaders().getFirst("Host").replaceAll(":\\d+$", "");
            fetched.add(host);
            byte[] body = POLICIES.getOrDefault(host, "").getBytes(StandardCharsets.US_ASCII);
            ex.getResponseHeaders().add("Content-Type", "text/plain");
            ex.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
            if (body.length > 0) ex.getResponseBody().write(body);
            ex.close();
        });
        https.start();
        List<TestServer> receivers = new ArrayList<>();
        try (TestDnsServer dns = new TestDnsServer().zone(
                "enforce.test. IN MX 10 mx.enforce.test.", "mx.enforce.test. IN A 127.0.0.2",
                "good.test. IN MX 10 mx1.good.test.", "mx1.good.test. IN A 127.0.0.3",
                "testing.test. IN MX 10 mx.testing.test.", "mx.testing.test. IN A 127.0.0.4",
                "other.test. IN MX 10 evil.other.test.", "evil.other.test. IN A 127.0.0.5",
                "broken.test. IN MX 10 mx.broken.test.", "mx.broken.test. IN A 127.0.0.6")) {
            for (String d : List.of("enforce", "good", "testing", "other", "broken")) {
                dns.zone("_mta-sts." + d + ".test. IN TXT \"v=STSv1; id=20261202;\"", "mta-sts." + d + ".test. IN A 127.0.0.9");
            }
            receivers.add(receiver("enforce.test", "mx.enforce.test", "127.0.0.2", smtpPort, null));   // self-signed
            receivers.add(receiver("good.test", "mx1.good.test", "127.0.0.3", smtpPort, good));
            receivers.add(receiver("testing.test", "mx.testing.test", "127.0.0.4", smtpPort, null));   // self-signed
            receivers.add(receiver("other.test", "evil.other.test", "127.0.0.5", smtpPort, null));
            receivers.add(receiver("broken.test", "mx.broken.test", "127.0.0.6", smtpPort, null)); // its policy host answers 404
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), smtpPort, "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100).withTls(Config.TlsMode.MAY, ca.certFile, Map.of())
                    .withMtaSts(true, https.getAddress().getPort());
            TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).start();
            Path data = s.config.dataDir();
            try {
                for (String to : List.of("bob@enforce.test", "bob@good.test", "bob@testing.test", "bob@other.test")) s.relay(to);
                assertThat(receivers.get(1).awaitMail("bob@good.test", 1)).as("enforce, valid certificate for a matching MX").hasSize(1);
                assertThat(receivers.get(2).awaitMail("bob@testing.test", 1)).as("testing: delivered anyway").hasSize(1);
                assertThat(s.awaitLastReply("bob@enforce.test")).startsWith("451 4.7.5").contains("validation-failure");
                assertThat(s.awaitLastReply("bob@other.test")).startsWith("451 4.7.5").contains("none of [evil.other.test] matches");
                assertThat(receivers.get(0).maildir("bob@enforce.test").resolve("new")).doesNotExist();
                assertThat(receivers.get(3).maildir("bob@other.test").resolve("new")).doesNotExist();
                // a policy that cannot be fetched: delivered as without one, tried again only minutes later, and reported
                s.relay("bob@broken.test");
                s.relay("carol@broken.test");
                assertThat(receivers.get(4).awaitMail("bob@broken.test", 1)).hasSize(1);
                assertThat(receivers.get(4).awaitMail("carol@broken.test", 1)).hasSize(1);
                assertThat(fetched).containsExactlyInAnyOrder("mta-sts.enforce.test", "mta-sts.good.test", "mta-sts.testing.test",
                        "mta-sts.other.test", "mta-sts.broken.test");
                s.relay("carol@enforce.test");
                assertThat(s.awaitLastReply("carol@enforce.test")).startsWith("451 4.7.5");
                assertThat(fetched).as("the same TXT id: the held policy is used").hasSize(5);
                // RFC 8689 5: the sender asks that the recipient's policy be ignored
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "dave@enforce.test", "TLS-Required: No\r\nSubject: not secret")).startsWith("250");
                }
                assertThat(receivers.get(0).awaitMail("dave@enforce.test", 1)).hasSize(1);
                // TLS-RPT (RFC 8460): the sessions above, counted per policy domain, as "postern tlsrpt report" writes them
                s.server.saveTlsReports();
                Path conf = Files.writeString(dir.resolve("report.toml"), "hostname = \"mx.example.test\"\ndata_dir = \"" + data
                        + "\"\ndomains = [\"example.test\"]\n");
                String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
                assertThat(dev.postern.admin.Cli.run("tlsrpt", "report", "--day", today, "--out", dir.resolve("rpt").toString(),
                        "--config", conf.toString())).isZero();
                var enforce = report(dir.resolve("rpt"), "enforce.test");
                assertThat(enforce.path("organization-name").asText()).isEqualTo("mx.example.test");
                assertThat(enforce.path("date-range").path("start-datetime").asText()).isEqualTo(today + "T00:00:00Z");
                var policy = policyOfType(enforce, "sts");
                // dave's message (TLS-Required: No) went without the policy: counted under no-policy-found
                assertThat(policyOfType(enforce, "no-policy-found").path("summary").path("total-failure-session-count").asLong()).isZero();
                assertThat(policy.path("policy").path("policy-domain").asText()).isEqualTo("enforce.test");
                assertThat(policy.path("policy").path("policy-string").toString()).contains("mode: enforce").contains("mx: mx.enforce.test");
                assertThat(policy.path("summary").path("total-successful-session-count").asLong()).isZero();
                assertThat(policy.path("summary").path("total-failure-session-count").asLong()).isGreaterThanOrEqualTo(2);
                var failure = policy.path("failure-details").get(0);
                assertThat(failure.path("result-type").asText()).isEqualTo("validation-failure");
                assertThat(failure.path("receiving-mx-hostname").asText()).isEqualTo("mx.enforce.test");
                assertThat(failure.path("receiving-ip").asText()).isEqualTo("127.0.0.2");
                var goodPolicy = policyOfType(report(dir.resolve("rpt"), "good.test"), "sts");
                assertThat(goodPolicy.path("summary").path("total-successful-session-count").asLong()).isGreaterThanOrEqualTo(1);
                assertThat(goodPolicy.path("summary").path("total-failure-session-count").asLong()).isZero();
                var broken = policyOfType(report(dir.resolve("rpt"), "broken.test"), "sts");
                assertThat(broken.path("failure-details").get(0).path("result-type").asText()).isEqualTo("sts-policy-fetch-error");
                assertThat(broken.path("failure-details").get(0).path("failed-session-count").asLong()).isEqualTo(1);
                var testing = policyOfType(report(dir.resolve("rpt"), "testing.test"), "sts");
                assertThat(testing.path("failure-details").get(0).path("result-type").asText()).as("testing mode is reported too")
                        .isEqualTo("validation-failure");
            } finally {
                s.stop();
            }
            https.stop(0);
            // the policy web server is gone: the policies held in mta-sts.db still apply after a restart
            assertThat(Files.readAllLines(data.resolve("mta-sts.db")).get(0)).isEqualTo("postern-mta-sts 1");
            try (TestServer again = TestServer.builder().restartIn(data.getParent()).relayNetworks("127.0.0.1/32").delivery(d).start()) {
                again.relay("erin@enforce.test");
                assertThat(again.awaitLastReply("erin@enforce.test")).startsWith("451 4.7.5").contains("validation-failure");
            }
        } finally {
            https.stop(0);
            for (TestServer r : receivers) r.close();
        }
    }

    /** Our own policy, served by one Postern and fetched by another's MTA-STS client, with the TXT id dns-records prints. */
    @Test void ourPolicyIsServedAndAnotherSenderUsesIt(@TempDir Path dir) throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] cert = ca.issue("mx", "mx.example.test", "mta-sts.example.test");
        Config.MtaStsServe policy = new Config.MtaStsServe("enforce", List.of("mx.example.test"), java.time.Duration.ofDays(7), "127.0.0.10", 0);
        try (TestServer s = TestServer.builder().tls(cert[0], cert[1]).serveMtaSts(policy).start();
             TestDnsServer dns = new TestDnsServer().zone("_mta-sts.example.test. IN TXT \"v=STSv1; id=" + policy.policyId() + "\"",
                     "mta-sts.example.test. IN A 127.0.0.10")) {
            int port = s.server.policyServer().port();
            dev.postern.route.DnsjavaDns resolver = new dev.postern.route.DnsjavaDns(List.of(dns.address()), java.time.Duration.ofSeconds(5));
            dev.postern.tls.MtaSts client = new dev.postern.tls.MtaSts(resolver, dev.postern.tls.PeerVerifier.load(ca.certFile).clientContext(),
                    port, java.time.Duration.ofSeconds(5), java.time.Clock.systemUTC(), null);
            dev.postern.tls.MtaStsPolicy p = client.policyFor("example.test");
            assertThat(p).isEqualTo(new dev.postern.tls.MtaStsPolicy(dev.postern.tls.MtaStsPolicy.Mode.ENFORCE, List.of("mx.example.test"), 604800));
            assertThat(client.fetch("example.test")).isEqualTo("version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n");
            // only mta-sts.<a local domain>, only the policy's path
            dns.zone("mta-sts.other.test. IN A 127.0.0.10");
            assertThatThrownBy(() -> client.fetch("other.test")).isInstanceOf(java.io.IOException.class); // the certificate does not name it
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode policyOfType(com.fasterxml.jackson.databind.JsonNode report, String type) {
        for (var p : report.path("policies")) if (p.path("policy").path("policy-type").asText().equals(type)) return p;
        throw new AssertionError("no " + type + " policy in " + report);
    }

    /** The one report for a policy domain in a directory of gzipped reports (RFC 8460 5.3 file names). */
    private static com.fasterxml.jackson.databind.JsonNode report(Path dir, String domain) throws Exception {
        try (var files = Files.list(dir)) {
            Path f = files.filter(p -> p.getFileName().toString().startsWith("mx.example.test!" + domain + "!")
                    && p.getFileName().toString().endsWith(".json.gz")).findFirst().orElseThrow();
            try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(f))) {
                return new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
            }
        }
    }

    private static TestServer receiver(String domain, String host, String ip, int port, Path[] cert) throws Exception {
        TestServer.Builder b = TestServer.builder().hostname(host).domains(domain).listenOn(ip).smtpPort(port)
                .user("bob@" + domain).user("carol@" + domain).user("dave@" + domain).user("erin@" + domain);
        if (cert != null) b.tls(cert[0], cert[1]);
        return b.start();
    }


}
