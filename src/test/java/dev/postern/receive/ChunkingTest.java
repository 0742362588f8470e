package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 3030 BDAT: exact octet counts, no dot handling, refused chunks still consumed. */
class ChunkingTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().maxSize(2000).start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    @Test void chunksAreStoredVerbatim() throws Exception {
        String part1 = "Subject: chunky\r\n\r\n.not stuffed\r\n";
        String part2 = ".\r\nstill data\r\n";
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            c.command("RCPT TO:<alice@example.test>", "250");
            c.raw("BDAT " + part1.length() + "\r\n" + part1);
            c.expect("250 2.0.0 " + part1.length() + " octets");
            c.raw("BDAT " + part2.length() + " LAST\r\n" + part2);
            c.expect("250 2.0.0 Ok: queued as");
            c.command("DATA", "503"); // transaction over
        }
        String content = Files.readString(server.awaitMail("alice@example.test", 1).get(0));
        assertThat(content).endsWith("\n.not stuffed\n.\nstill data\n");
        assertThat(content).contains("with ESMTP");
    }

    @Test void refusedBdatStillConsumesItsChunk() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            // no MAIL yet: 503, but the 12 octets "QUIT\r\nNOOP\r\n" must be read as data, not commands
            c.raw("BDAT 12\r\nQUIT\r\nNOOP\r\n");
            c.expect("503 5.5.1");
            c.command("NOOP", "250 2.0.0");
        }
    }

    @Test void oversizedChunkedMessageIs552() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            c.command("RCPT TO:<bob@example.test>", "250");
            String big = "z".repeat(2500);
            c.raw("BDAT " + big.length() + " LAST\r\n" + big);
            c.expect("552 5.3.4");
            c.command("NOOP", "250");
        }
    }

    @Test void dataAfterBdatIs503() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            c.command("RCPT TO:<bob@example.test>", "250");
            c.raw("BDAT 3\r\nabc");
            c.expect("250");
            c.command("DATA", "503 5.5.1");
        }
    }
}
