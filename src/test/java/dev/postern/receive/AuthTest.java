package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 4954 on each listener kind: where AUTH is offered, required, refused, and how failures count. */
class AuthTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

    @Test void authIsRefusedOverCleartext() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0" + TestServer.PASSWORD), "538 5.7.11");
        }
    }

    @Test void submissionRequiresStartTlsThenAuth() throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.submission())) {
            c.command("MAIL FROM:<alice@example.test>", "530 5.7.0");
            c.startTls();
            c.command("EHLO client.example", "250");
            c.command("MAIL FROM:<alice@example.test>", "530 5.7.0");
            c.authPlain("alice@example.test", TestServer.PASSWORD, "235 2.7.0");
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0x"), "503 5.5.1");
            c.command("MAIL FROM:<alice@example.test>", "250");
            c.command("RCPT TO:<anyone@remote.test>", "250 2.1.5"); // authenticated users may send anywhere
            c.command("RCPT TO:<nobody@example.test>", "550 5.1.1"); // local names are still checked
        }
    }

    @Test void smtpsIsTlsFromTheFirstByte() throws Exception {
        try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
            c.expect("220 ");
            String ehlo = c.command("EHLO client.example", "250 ");
            assertThat(ehlo).contains("AUTH PLAIN LOGIN CRAM-MD5").doesNotContain("STARTTLS");
            c.command("MAIL FROM:<alice@example.test>", "530 5.7.0");
            c.command("AUTH LOGIN", "334 " + b64("Username:"));
            c.command(b64("bob@example.test"), "334 " + b64("Password:"));
            c.command(b64(TestServer.PASSWORD), "235 2.7.0");
            c.command("MAIL FROM:<bob@example.test>", "250");
        }
    }

    @Test void cramMd5() throws Exception {
        try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            String challenge = new String(Base64.getDecoder().decode(c.command("AUTH CRAM-MD5", "334 ").substring(4)));
            assertThat(challenge).matches("<.+@mx\\.example\\.test>");
            Mac mac = Mac.getInstance("HmacMD5");
            mac.init(new SecretKeySpec(TestServer.PASSWORD.getBytes(StandardCharsets.UTF_8), "HmacMD5"));
            String digest = HexFormat.of().formatHex(mac.doFinal(challenge.getBytes(StandardCharsets.US_ASCII)));
            c.command(b64("alice@example.test " + digest), "235 2.7.0");
        }
    }

    @Test void badCredentialsCancelAndBadBase64() throws Exception {
        try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0wrong"), "535 5.7.8");
            c.command("AUTH PLAIN", "334");
            c.command("*", "501");
            c.command("AUTH PLAIN !!notbase64!!", "501 5.5.2");
            c.command("AUTH LOGIN", "334");
            c.command("%%%", "501 5.5.2");
            c.command("AUTH XOAUTH9", "504 5.5.4");
            c.command("NOOP", "250");
        }
    }

    @Test void sessionIsDroppedAfterThreeFailures() throws Exception {
        try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0wrong1"), "535 5.7.8");
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0wrong2"), "535 5.7.8");
            c.command("AUTH PLAIN " + b64("\0alice@example.test\0wrong3"), "421 4.7.0");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void accountsAddedWhileRunningCanLogInWithinASecondOrTwo() throws Exception {
        new dev.postern.auth.UserStore(server.config.usersFile()).put("carol@example.test", "new-pass");
        Thread.sleep(2100);
        try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.authPlain("carol@example.test", "new-pass", "235 2.7.0");
        }
    }
}
