package dev.postern.tls;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestPebble;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ACME (RFC 8555) against Debian's pebble: the first certificate is ordered at start and proven by HTTP-01,
 * a renewal replaces it for new connections while an open session goes on, and a restart uses the stored one.
 */
class AcmeTest {

    @Test void obtainsRenewsWithoutRestartAndKeepsTheCertificate(@TempDir Path dir) throws Exception {
        try (TestDnsServer dns = new TestDnsServer().zone("mx.example.test. IN A 127.0.0.1", "mail.example.test. IN A 127.0.0.1");
             TestPebble pebble = TestPebble.start(Files.createDirectories(dir.resolve("pebble")), dns.address())) {
            // renew_before longer than any certificate's life: every check orders a new one
            Config.Acme always = new Config.Acme(pebble.directory(), "postmaster@example.test", List.of("mx.example.test", "mail.example.test"),
                    "127.0.0.1", pebble.httpPort, pebble.caFile, Duration.ofDays(100_000));
            Path data;
            X509Certificate first, second;
            TestServer s = TestServer.builder().hostname("mx.example.test").acme(always).start();
            try {
                data = s.config.dataDir();
                first = awaitAcmeCertificate(s, null);
                assertThat(CertificateNames.of(first)).contains("mx.example.test", "mail.example.test");
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("acme/key.pem")))).isEqualTo("rw-------");
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("acme/account.key")))).isEqualTo("rw-------");
                try (SmtpClient open = SmtpClient.ehlo(s.smtp())) {
                    open.startTls();
                    open.command("EHLO client.test", "250");
                    s.server.acme().check(); // the hourly check, now
                    second = awaitAcmeCertificate(s, first);
                    assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
                    // the session that began before the renewal goes on with the old certificate
                    assertThat(open.peerCertificate().getSerialNumber()).isEqualTo(first.getSerialNumber());
                    assertThat(open.sendMail("alice@example.test", "alice@example.test", "Subject: during renewal")).startsWith("250");
                }
            } finally {
                s.stop(); // the data directory stays for the restart
            }
            // a restart with the usual 30 days: the stored certificate serves at once, and nothing is ordered
            Config.Acme usual = new Config.Acme(always.directory(), always.email(), always.domains(), "127.0.0.1", pebble.httpPort,
                    pebble.caFile, Duration.ofDays(30));
            long stored = Files.getLastModifiedTime(data.resolve("acme/cert.pem")).toMillis();
            try (TestServer again = TestServer.builder().hostname("mx.example.test").restartIn(data.getParent()).acme(usual).start()) {
                assertThat(presented(again).getSerialNumber()).isEqualTo(second.getSerialNumber());
                again.server.acme().check();
                assertThat(Files.getLastModifiedTime(data.resolve("acme/cert.pem")).toMillis()).isEqualTo(stored);
            }
        }
    }

    private static X509Certificate presented(TestServer s) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
            c.startTls();
            return c.peerCertificate();
        }
    }

    /** Waits until the listener presents a certificate issued by pebble, other than {@code not}. */
    private static X509Certificate awaitAcmeCertificate(TestServer s, X509Certificate not) throws Exception {
        X509Certificate c = null;
        for (int i = 0; i < 300; i++) {
            c = presented(s);
            boolean fromPebble = c.getIssuerX500Principal().getName().toLowerCase().contains("pebble");
            if (fromPebble && (not == null || !c.getSerialNumber().equals(not.getSerialNumber()))) return c;
            Thread.sleep(100);
        }
        throw new AssertionError("the listener still presents " + c.getIssuerX500Principal() + " " + c.getSerialNumber());
    }
}
