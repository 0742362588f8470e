package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 3207: STARTTLS, command injection, and the session reset it implies. */
class StartTlsTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    @Test void plaintextPipelinedAfterStartTlsIsDiscarded() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            // the classic injection: commands in the same packet as STARTTLS
            c.raw("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\n");
            c.expect("220 2.0.0");
            c.upgrade();
            // had the injected MAIL been kept, this would be 503 (nested MAIL) or RCPT would succeed
            c.command("EHLO client.example", "250");
            c.command("RCPT TO:<alice@example.test>", "503 5.5.1");
            c.command("MAIL FROM:<good@remote.test>", "250 2.1.0");
        }
    }

    @Test void sessionResetsToBeforeEhlo() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.startTls();
            assertThat(c.tlsProtocol()).isIn("TLSv1.2", "TLSv1.3");
            c.command("MAIL FROM:<a@remote.test>", "503"); // RFC 3207 4.2: client must EHLO again
            String ehlo = c.command("EHLO client.example", "250 ");
            assertThat(ehlo).doesNotContain("STARTTLS").contains("AUTH PLAIN LOGIN CRAM-MD5");
            c.command("STARTTLS", "503 5.5.1");
        }
    }

    @Test void receivedHeaderNamesEsmtpsAndCipher() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.startTls();
            c.command("EHLO client.example", "250");
            c.sendMail("x@remote.test", "bob@example.test", "Subject: tls\r\n\r\nhi");
        }
        var files = server.awaitMail("bob@example.test", 1);
        String content = Files.readString(files.get(0));
        assertThat(content).containsPattern("with ESMTPS \\(TLSv1\\.[23] TLS_[A-Z0-9_]+\\)");
    }
}
