package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 3207: STARTTLS, command injection, and the session reset it implies. */
class StartTlsTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    /** openssl s_client: "R" asks for a TLS 1.2 renegotiation, then NOOP shows whether the session lived on. */
    private static String sClient(int port, String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-starttls", "smtp",
                "-crlf"));
        cmd.addAll(List.of(extra));
        java.nio.file.Path out = java.nio.file.Files.createTempFile("s_client", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try (var in = p.getOutputStream()) {
            Thread.sleep(1500); // the handshake is done
            in.write("R\n".getBytes());
            in.flush();
            Thread.sleep(1500);
            in.write("NOOP\n".getBytes());
            in.flush();
            Thread.sleep(1000);
        } catch (java.io.IOException gone) {
            // s_client has already given up
        }
        p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        p.destroyForcibly().waitFor();
        String text = java.nio.file.Files.readString(out);
        java.nio.file.Files.delete(out);
        return text;
    }

    @Test void clientInitiatedRenegotiationIsRefused() throws Exception {
        String out = sClient(server.smtp(), "-tls1_2");
        assertThat(out).contains("RENEGOTIATING");
        assertThat(out).as(out).doesNotContain("250 2.0.0 Ok");
        assertThat(out).as(out).containsPattern("(?i)alert|errno|error");
    }

    @Test void onlyAeadSuitesAreOffered() throws Exception {
        // a client that offers only CBC suites finds no common cipher
        String cbc = sClient(server.smtp(), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:AES128-SHA");
        assertThat(cbc).as(cbc).containsPattern("(?i)handshake failure|no shared cipher|alert");
        String gcm = sClient(server.smtp(), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256");
        assertThat(gcm).contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256");
    }

    /** Several certificates: the one naming the SNI host, of a key type the client can use; the first otherwise. */
    @Test void theCertificateFollowsSniAndKeyType(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        dev.postern.testing.TestCa ca = new dev.postern.testing.TestCa(dir.resolve("ca"));
        java.nio.file.Path[] main = ca.issue("main", "mx.example.test");
        java.nio.file.Path[] other = ca.issue("other", "mail.other.test");
        java.nio.file.Path[] rsa = ca.issueRsa("rsa", "mx.example.test");
        try (TestServer s = TestServer.builder().tls(main[0], main[1])
                .moreCertificates(new dev.postern.config.Config.CertPair(other[0], other[1]), new dev.postern.config.Config.CertPair(rsa[0], rsa[1]))
                .start()) {
            assertThat(handshake(s.smtp(), "-servername", "mail.other.test")).contains("CN = mail.other.test");
            String fallback = handshake(s.smtp(), "-servername", "unknown.example.test");
            assertThat(fallback).contains("CN = mx.example.test").contains("public key is 256 bit");
            String rsaOnly = handshake(s.smtp(), "-servername", "mx.example.test", "-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256");
            assertThat(rsaOnly).contains("CN = mx.example.test").contains("public key is 2048 bit");
        }
    }

    private static String handshake(int port, String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-starttls", "smtp"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().write("QUIT\r\n".getBytes());
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        return out;
    }

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
