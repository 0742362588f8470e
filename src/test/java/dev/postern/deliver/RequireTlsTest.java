package dev.postern.deliver;

import dev.postern.config.Config;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestCa;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 8689 REQUIRETLS: offered only under TLS, carried in the envelope, and honoured by delivery. */
class RequireTlsTest {

    @Test void offeredOnlyOnceTlsIsUp() throws Exception {
        try (TestServer s = TestServer.builder().start();
             SmtpClient c = SmtpClient.connect(s.smtp())) {
            c.expect("220");
            assertThat(c.command("EHLO client.test", "250")).doesNotContain("REQUIRETLS");
            assertThat(c.command("MAIL FROM:<alice@example.test> REQUIRETLS", "555")).startsWith("555 5.5.4");
            c.startTls();
            assertThat(c.command("EHLO client.test", "250")).contains("REQUIRETLS");
            assertThat(c.command("MAIL FROM:<alice@example.test> REQUIRETLS=yes", "501")).startsWith("501");
            c.command("MAIL FROM:<alice@example.test> REQUIRETLS", "250");
        }
    }

    @Test void goesOnlyToAuthenticatedNextHopsThatOfferIt(@TempDir Path dir) throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] good = ca.issue("good", "mx.good.test");
        Path[] noreq = ca.issue("noreq", "mx.noreq.test");
        try (ScriptedPeer goodPeer = new ScriptedPeer("127.0.0.2");
             ScriptedPeer noreqPeer = new ScriptedPeer("127.0.0.3", goodPeer.port());
             TestDnsServer dns = new TestDnsServer().zone(
                     "good.test. IN MX 10 mx.good.test.", "mx.good.test. IN A 127.0.0.2",
                     "noreq.test. IN MX 10 mx.noreq.test.", "mx.noreq.test. IN A 127.0.0.3",
                     "open.test. IN MX 10 mx.open.test.", "mx.open.test. IN A 127.0.0.4")) {
            goodPeer.offerStartTls = true;
            goodPeer.offerRequireTls = true;
            goodPeer.certificate = ScriptedPeer.contextFor(good[0], good[1]);
            noreqPeer.offerStartTls = true;
            noreqPeer.certificate = ScriptedPeer.contextFor(noreq[0], noreq[1]);
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), goodPeer.port(), "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100).withTls(Config.TlsMode.MAY, ca.certFile,
                    Map.of("good.test", Config.TlsMode.VERIFY, "noreq.test", Config.TlsMode.VERIFY));
            try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).start();
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                c.startTls();
                c.command("EHLO client.test", "250");
                for (String to : List.of("bob@good.test", "bob@noreq.test", "bob@open.test")) {
                    c.command("MAIL FROM:<alice@example.test> REQUIRETLS", "250");
                    c.command("RCPT TO:<" + to + ">", "250");
                    c.command("DATA", "354");
                    c.raw("Subject: secret for " + to + "\r\n\r\nbody\r\n.\r\n");
                    c.expect("250");
                }
                for (int i = 0; i < 500 && goodPeer.received.isEmpty(); i++) Thread.sleep(20);
                assertThat(goodPeer.received).hasSize(1);
                assertThat(goodPeer.received.get(0).mailFrom()).endsWith(" REQUIRETLS");
                assertThat(goodPeer.received.get(0).tls()).isTrue();
                List<Path> bounces = s.awaitMail("alice@example.test", 2);
                assertThat(bounces).hasSize(2);
                String all = Files.readString(bounces.get(0)) + Files.readString(bounces.get(1));
                assertThat(all).contains("5.7.30").contains("does not offer REQUIRETLS");  // authenticated, but cannot carry it on
                assertThat(all).contains("5.7.10").contains("open.test");                 // "may": never authenticated
                assertThat(noreqPeer.received).as("nothing sent to the hop without REQUIRETLS").isEmpty();
            }
        }
    }
}
