package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SMTP smuggling: end-of-data look-alikes with bare CR or LF must never end the message, and the
 * "smuggled" commands behind them must never be answered. Such messages are refused with 550 5.5.2.
 */
class SmugglingTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", ".\n", "\n..\n"})
    void fakeEndOfDataIsNeverObeyed(String fakeEnd) throws Exception {
        String smuggled = "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                + "Subject: smuggled\r\n\r\nsmuggled\r\n";
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<good@remote.test>", "250");
            c.command("RCPT TO:<alice@example.test>", "250");
            c.command("DATA", "354");
            c.raw("Subject: innocent\r\n\r\nhello" + fakeEnd + smuggled);
            // nothing may be answered before the real end of data
            assertThat(c.silentFor(300)).as("server answered inside DATA").isTrue();
            c.raw("\r\n.\r\n");
            c.expect("550 5.5.2");
            c.command("NOOP", "250 2.0.0"); // exactly one reply came for the whole thing
        }
        server.awaitQueueIdle();
        assertThat(Files.exists(server.maildir("bob@example.test").resolve("new"))).isFalse();
        assertThat(Files.exists(server.maildir("alice@example.test").resolve("new"))).isFalse();
    }
}
