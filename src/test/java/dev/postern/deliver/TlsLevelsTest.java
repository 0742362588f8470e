package dev.postern.deliver;

import dev.postern.config.Config;
import dev.postern.testing.TestCa;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outbound TLS levels against real receivers (Postern instances on 127.0.0.2-6, found by MX in a loopback
 * DNS server): a certificate from the test CA, an expired one, a self-signed one and one for another name.
 * Where the level authenticates, a bad peer defers the mail with 4.7.5 and gets none of it, not even in plaintext.
 */
class TlsLevelsTest {
    static Path dir;
    static TestDnsServer dns;
    static TestCa ca;
    static final List<TestServer> receivers = new ArrayList<>();
    static int port;

    @BeforeAll static void receivers() throws Exception {
        dir = Files.createTempDirectory("tls-levels");
        ca = new TestCa(dir.resolve("ca"));
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Instant now = Instant.now();
        Path[] good = ca.issue("good", "mx.good.test");
        Path[] expired = ca.issue("expired", now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), "mx.expired.test");
        Path[] wrong = ca.issue("wrong", "mx.other.test");
        Path[] wildcard = ca.issue("wild", "*.wild.test");
        receivers.add(receiver("good.test", "127.0.0.2", good));
        receivers.add(receiver("expired.test", "127.0.0.3", expired));
        receivers.add(receiver("self.test", "127.0.0.4", null)); // TestServer's own self-signed certificate
        receivers.add(receiver("wrong.test", "127.0.0.5", wrong));
        receivers.add(receiver("wild.test", "127.0.0.6", wildcard));
        dns = new TestDnsServer().zone(
                "good.test. IN MX 10 mx.good.test.", "mx.good.test. IN A 127.0.0.2",
                "expired.test. IN MX 10 mx.expired.test.", "mx.expired.test. IN A 127.0.0.3",
                "self.test. IN MX 10 mx.self.test.", "mx.self.test. IN A 127.0.0.4",
                "wrong.test. IN MX 10 mx.wrong.test.", "mx.wrong.test. IN A 127.0.0.5",
                "may.wrong.test. IN MX 10 mx.wrong.test.",
                "wild.test. IN MX 10 mx1.wild.test.", "mx1.wild.test. IN A 127.0.0.6");
    }

    private static TestServer receiver(String domain, String ip, Path[] cert) throws Exception {
        TestServer.Builder b = TestServer.builder().hostname("mx." + domain).domains(domain, "may." + domain).listenOn(ip).smtpPort(port)
                .user("bob@" + domain).user("bob@may." + domain).user("carol@" + domain);
        if (cert != null) b.tls(cert[0], cert[1]);
        return b.start();
    }

    @AfterAll static void stop() throws Exception {
        for (TestServer r : receivers) r.close();
        dns.close();
    }

    private TestServer sender(Config.TlsMode dflt, Map<String, Config.TlsMode> policy) throws Exception {
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), port, "mx.example.test", null,
                dflt, 20, 100).withTls(dflt, ca.certFile, policy);
        return TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).start();
    }



    @Test void verifyAndSecureDeliverOnlyToAuthenticatedPeers() throws Exception {
        try (TestServer s = sender(Config.TlsMode.MAY, Map.of("good.test", Config.TlsMode.SECURE, "expired.test", Config.TlsMode.VERIFY,
                "self.test", Config.TlsMode.VERIFY, "wrong.test", Config.TlsMode.VERIFY, "wild.test", Config.TlsMode.SECURE))) {
            s.relay("bob@good.test");
            s.relay("bob@wild.test");
            s.relay("bob@expired.test");
            s.relay("bob@self.test");
            s.relay("bob@wrong.test");
            s.relay("bob@may.wrong.test"); // the default level "may": any certificate will do
            assertThat(receivers.get(0).awaitMail("bob@good.test", 1)).as("secure: the MX name is under the next-hop domain").hasSize(1);
            assertThat(receivers.get(4).awaitMail("bob@wild.test", 1)).as("a wildcard certificate").hasSize(1);
            assertThat(receivers.get(3).awaitMail("bob@may.wrong.test", 1)).hasSize(1);
            assertThat(s.awaitLastReply("bob@expired.test")).startsWith("451 4.7.5").contains("certificate-expired");
            assertThat(s.awaitLastReply("bob@self.test")).startsWith("451 4.7.5").contains("validation-failure");
            assertThat(s.awaitLastReply("bob@wrong.test")).startsWith("451 4.7.5").contains("certificate-host-mismatch")
                    .contains("mx.other.test").contains("mx.wrong.test");
            for (int i : new int[] {1, 2}) assertThat(receivers.get(i).awaitMail("bob@" + (i == 1 ? "expired" : "self") + ".test", 0)).isEmpty();
            assertThat(receivers.get(3).maildir("bob@wrong.test").resolve("new")).doesNotExist();
        }
    }

    @Test void secureWantsTheNextHopDomainNotJustATrustedChain() throws Exception {
        // wrong.test's MX presents a trusted certificate for mx.other.test: "encrypt" takes it, "secure" does not
        try (TestServer s = sender(Config.TlsMode.ENCRYPT, Map.of(".wrong.test", Config.TlsMode.SECURE))) {
            s.relay("carol@wrong.test");
            s.relay("bob@may.wrong.test");
            assertThat(receivers.get(3).awaitMail("carol@wrong.test", 1)).hasSize(1);
            assertThat(s.awaitLastReply("bob@may.wrong.test")).startsWith("451 4.7.5").contains("certificate-host-mismatch");
        }
    }
}
