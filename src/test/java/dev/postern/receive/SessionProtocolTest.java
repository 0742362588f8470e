package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/** Transcripts over a real socket: sequencing, syntax, parameters, limits, informational verbs. */
class SessionProtocolTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception {
        server = TestServer.builder().maxSize(10_000).maxRecipients(3).alias("postmaster@example.test", "alice@example.test").start();
    }

    @AfterAll static void stop() throws Exception { server.close(); }

    @Test void greetingAndEhloKeywords() throws Exception {
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            assertThat(c.expect("220 ")).contains("mx.example.test").contains("ESMTP");
            String ehlo = c.command("EHLO client.example", "250 ");
            assertThat(ehlo.lines().map(l -> l.substring(4)).toList()).contains("PIPELINING", "SIZE 10000", "8BITMIME",
                    "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES", "DSN", "STARTTLS", "HELP").doesNotContain("AUTH PLAIN LOGIN CRAM-MD5");
            c.command("QUIT", "221 2.0.0");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void commandsOutOfSequenceGet503() throws Exception {
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220");
            c.command("MAIL FROM:<a@b.example>", "503"); // before HELO: no enhanced codes yet
            c.command("EHLO client.example", "250");
            c.command("RCPT TO:<alice@example.test>", "503 5.5.1");
            c.command("DATA", "503 5.5.1");
            c.command("MAIL FROM:<a@b.example>", "250 2.1.0");
            c.command("MAIL FROM:<a@b.example>", "503 5.5.1");
            c.command("DATA", "554 5.5.1"); // RFC 5321 3.3: no valid recipients
            c.command("RSET", "250 2.0.0");
            c.command("RCPT TO:<alice@example.test>", "503 5.5.1");
        }
    }

    @Test void syntaxErrors() throws Exception {
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220");
            c.command("EHLO", "501");
            c.command("EHLO client.example", "250");
            c.command("FOO bar", "500 5.5.2");
            c.command("", "501 5.5.4");
            c.command("MAIL TO:<a@b.example>", "501 5.5.4");
            c.command("MAIL FROM:a@b.example", "501 5.1.7");
            c.command("MAIL FROM:<a@@b.example>", "501 5.1.7");
            c.command("MAIL FROM:<a@b.example> SIZE=abc", "501 5.5.4");
            c.command("MAIL FROM:<a@b.example>", "250 2.1.0");
            c.command("RCPT TO:<no-domain>", "501 5.1.3");
            c.command("RCPT TO:<alice@example.test> NOTIFY=SOMETIMES", "501 5.5.4");
            c.command("RSET extra", "501 5.5.4");
            c.command("VRFY", "501 5.5.4");
        }
    }

    @Test void unknownParametersGet555() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<a@b.example> FROBNICATE=1", "555 5.5.4");
            c.command("MAIL FROM:<a@b.example> BODY=BINARYMIME", "555 5.5.4");
            c.command("MAIL FROM:<a@b.example> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2Bx", "250 2.1.0");
            c.command("RCPT TO:<alice@example.test> XYZZY", "555 5.5.4");
            c.command("RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test", "250 2.1.5");
        }
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220");
            c.command("HELO client.example", "250");
            c.command("MAIL FROM:<a@b.example> SIZE=10", "555"); // RFC 5321 4.1.1.2: parameters need EHLO
        }
    }

    @Test void longLinesAre500WithoutDroppingTheSession() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            // 512 octets including CRLF is allowed (RFC 5321 4.5.3.1.4); 513 is not
            c.command("NOOP " + "x".repeat(512 - 7), "250 2.0.0");
            c.command("NOOP " + "x".repeat(512 - 6), "500 5.5.6");
            c.command("NOOP " + "x".repeat(100_000), "500 5.5.6");
            c.command("NOOP", "250 2.0.0");
        }
    }

    @Test void vrfyNeverRevealsAndExpnIsDisabled() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("VRFY alice@example.test", "252 2.5.0");
            c.command("VRFY nobody@example.test", "252 2.5.0");
            c.command("EXPN postmaster@example.test", "502 5.5.1");
            c.command("HELP", "214 2.0.0");
            c.command("NOOP", "250 2.0.0");
        }
    }

    @Test void unknownLocalUserIs550AndPostmasterAlwaysWorks() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<a@remote.example>", "250");
            c.command("RCPT TO:<nobody@example.test>", "550 5.1.1");
            c.command("RCPT TO:<Postmaster>", "250 2.1.5");         // RFC 5321 4.5.1
            c.command("RCPT TO:<POSTMASTER@EXAMPLE.TEST>", "250 2.1.5");
        }
    }

    @Test void tooManyRecipientsIs452() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<a@remote.example>", "250");
            for (int i = 0; i < 3; i++) c.command("RCPT TO:<alice@example.test>", "250");
            c.command("RCPT TO:<bob@example.test>", "452 4.5.3");
        }
    }

    @Test void sizeDeclaredTooBigIs552AtMail() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<a@remote.example> SIZE=10001", "552 5.3.4");
        }
    }

    @Test void sizeEnforcedWhileStreaming() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<a@remote.example>", "250");
            c.command("RCPT TO:<bob@example.test>", "250");
            c.command("DATA", "354");
            c.raw("Subject: big\r\n\r\n" + ("y".repeat(78) + "\r\n").repeat(200) + ".\r\n");
            c.expect("552 5.3.4");
            c.command("NOOP", "250"); // the session continues
        }
        server.awaitQueueIdle();
        assertThat(Files.exists(server.maildir("bob@example.test").resolve("new"))).isFalse();
    }

    @Test void messageIsQueuedWithIdAndDotUnstuffed() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<sender@remote.example>", "250 2.1.0");
            c.command("RCPT TO:<alice@example.test>", "250 2.1.5");
            c.command("DATA", "354");
            c.raw("Subject: dots\r\n\r\n..leading dot\r\n.\r\n");
            String r = c.expect("250 2.0.0 Ok: queued as ");
            String id = r.substring(r.lastIndexOf(' ') + 1);
            var files = server.awaitMail("alice@example.test", 1);
            String content = files.stream().map(p -> {
                try { return Files.readString(p); } catch (Exception e) { throw new RuntimeException(e); }
            }).filter(s -> s.contains("id " + id)).findFirst().orElseThrow();
            assertThat(content).startsWith("Return-Path: <sender@remote.example>\n");
            assertThat(content).contains("\n.leading dot\n").doesNotContain("..leading");
            assertThat(content).contains("Received: from client.example (").contains("[127.0.0.1])")
                    .contains("by mx.example.test (Postern) with ESMTP").contains("for <alice@example.test>;");
        }
    }
}
