package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RFC 5321 6.3: a message carrying 50 or more Received headers is looping. */
class LoopDetectionTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    static String message(int hops) {
        return "Received: from a by b; Tue, 24 Nov 2026 06:00:00 +0000\r\n".repeat(hops) + "Subject: hops\r\n\r\nbody";
    }

    @Test void fiftyReceivedHeadersIsALoop() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            c.command("RCPT TO:<alice@example.test>", "250");
            c.command("DATA", "354");
            c.raw(message(50) + "\r\n.\r\n");
            c.expect("554 5.4.6");
        }
    }

    @Test void fortyNineIsFineAndReceivedInTheBodyDoesNotCount() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.sendMail("x@remote.test", "bob@example.test", message(49) + "\r\n" + "Received: x\r\n".repeat(10));
        }
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            String r = c.sendMail("x@remote.test", "bob@example.test", message(49));
            org.assertj.core.api.Assertions.assertThat(r).startsWith("250 2.0.0");
        }
    }
}
