package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.util.Base64;

/** Failed AUTH attempts are counted per client address across sessions. */
class AuthRateLimitTest {

    @Test void tenFailuresFromOneAddressBlockFurtherAttempts() throws Exception {
        try (TestServer server = TestServer.builder().start()) {
            String bad = "AUTH PLAIN " + Base64.getEncoder().encodeToString("\0alice@example.test\0nope".getBytes());
            for (int session = 0; session < 5; session++) {
                try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
                    c.expect("220");
                    c.command("EHLO client.example", "250");
                    c.command(bad, "535 5.7.8");
                    c.command(bad, "535 5.7.8");
                }
            }
            try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
                c.expect("220");
                c.command("EHLO client.example", "250");
                // even the right password is not checked while the address is blocked
                c.authPlain("alice@example.test", TestServer.PASSWORD, "454 4.7.0");
            }
        }
    }
}
