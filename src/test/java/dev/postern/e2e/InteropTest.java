package dev.postern.e2e;

import dev.postern.testing.TestServer;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Independent clients: swaks, Python's smtplib, and Jakarta Mail (Eclipse Angus). */
class InteropTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    static String run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    static String mailContaining(String user, String marker) throws Exception {
        for (int i = 0; i < 500; i++) {
            for (Path f : server.awaitMail(user, 0)) {
                String s = Files.readString(f);
                if (s.contains(marker)) return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no mail with " + marker + " for " + user);
    }

    @Test void swaksPlainSmtp() throws Exception {
        String out = run(List.of("swaks", "--server", "127.0.0.1:" + server.smtp(), "--from", "x@remote.test",
                "--to", "alice@example.test", "--header", "Subject: swaks-plain", "--pipeline"), null);
        assertThat(out).contains("250 2.0.0 Ok: queued as");
        assertThat(mailContaining("alice@example.test", "swaks-plain")).contains("with ESMTP");
    }

    @Test void swaksSubmissionWithStartTlsAndEachMechanism() throws Exception {
        for (String mech : List.of("PLAIN", "LOGIN", "CRAM-MD5")) {
            String out = run(List.of("swaks", "--server", "127.0.0.1:" + server.submission(), "--tls", "--auth", mech,
                    "--auth-user", "alice@example.test", "--auth-password", TestServer.PASSWORD,
                    "--from", "alice@example.test", "--to", "bob@example.test", "--header", "Subject: swaks-" + mech), null);
            assertThat(out).contains("235 2.7.0").contains("250 2.0.0 Ok: queued as");
            assertThat(mailContaining("bob@example.test", "swaks-" + mech)).contains("with ESMTPSA");
        }
    }

    @Test void swaksImplicitTlsWithChunking() throws Exception {
        String out = run(List.of("swaks", "--server", "127.0.0.1:" + server.smtps(), "--tlsc", "--auth", "PLAIN",
                "--auth-user", "bob@example.test", "--auth-password", TestServer.PASSWORD,
                "--from", "bob@example.test", "--to", "alice@example.test", "--header", "Subject: swaks-smtps"), null);
        assertThat(out).contains("250 2.0.0 Ok: queued as");
        assertThat(mailContaining("alice@example.test", "swaks-smtps")).contains("with ESMTPSA");
    }

    @Test void pythonSmtplib() throws Exception {
        String script = """
                import smtplib, ssl, sys
                port_sub, port_smtps = int(sys.argv[1]), int(sys.argv[2])
                ctx = ssl._create_unverified_context()
                msg = "From: alice@example.test\\r\\nTo: bob@example.test\\r\\nSubject: py-%s\\r\\n\\r\\nhello\\r\\n"
                with smtplib.SMTP("127.0.0.1", port_sub) as s:
                    s.starttls(context=ctx)
                    s.login("alice@example.test", sys.argv[3])
                    s.sendmail("alice@example.test", ["bob@example.test"], msg % "submission")
                with smtplib.SMTP_SSL("127.0.0.1", port_smtps, context=ctx) as s:
                    s.login("alice@example.test", sys.argv[3])
                    refused = s.sendmail("alice@example.test", ["bob@example.test"], (msg % "smtps").encode(), mail_options=["BODY=8BITMIME", "SMTPUTF8"])
                    print("refused", refused)
                with smtplib.SMTP("127.0.0.1", port_sub) as s:
                    try:
                        s.sendmail("alice@example.test", ["bob@example.test"], msg % "noauth")
                        print("UNEXPECTED: accepted without auth")
                    except smtplib.SMTPSenderRefused as e:
                        print("refused-without-auth", e.smtp_code)
                """;
        String out = run(List.of("/usr/bin/python3", "-c", script, String.valueOf(server.submission()),
                String.valueOf(server.smtps()), TestServer.PASSWORD), null);
        assertThat(out).contains("refused {}").contains("refused-without-auth 530").doesNotContain("UNEXPECTED");
        mailContaining("bob@example.test", "py-submission");
        mailContaining("bob@example.test", "py-smtps");
    }

    @Test void jakartaMailOverSubmissionAndSmtps() throws Exception {
        send("smtp", server.submission(), "jakarta-587", true);
        send("smtps", server.smtps(), "jakarta-465", false);
        assertThat(mailContaining("alice@example.test", "jakarta-587")).contains("with ESMTPSA");
        assertThat(mailContaining("alice@example.test", "jakarta-465")).contains("with ESMTPSA");
    }

    private static void send(String protocol, int port, String subject, boolean startTls) throws Exception {
        Properties p = new Properties();
        String pre = "mail." + protocol + ".";
        p.put(pre + "host", "127.0.0.1");
        p.put(pre + "port", String.valueOf(port));
        p.put(pre + "auth", "true");
        p.put(pre + "ssl.trust", "*");
        p.put(pre + "ssl.checkserveridentity", "false");
        if (startTls) p.put(pre + "starttls.required", "true");
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress("bob@example.test"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress("alice@example.test"));
        m.setSubject(subject);
        m.setText("Grüße from Jakarta Mail", "UTF-8");
        try (Transport t = session.getTransport(protocol)) {
            t.connect("bob@example.test", TestServer.PASSWORD);
            t.sendMessage(m, m.getAllRecipients());
        }
    }

    /** Postfix's posttls-finger, at its "secure" level with only the test CA trusted, verifies our listener's chain and name. */
    @Test void posttlsFingerVerifiesTheListenersChain(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        dev.postern.testing.TestCa ca = new dev.postern.testing.TestCa(dir.resolve("ca"));
        java.nio.file.Path[] cert = ca.issue("mx", "mx.example.test");
        try (TestServer s = TestServer.builder().tls(cert[0], cert[1]).start()) {
            String out = run(List.of("posttls-finger", "-c", "-l", "secure", "-F", ca.certFile.toString(),
                    "[127.0.0.1]:" + s.smtp(), "mx.example.test"), null);
            assertThat(out).as(out).contains("Verified TLS connection established");
            String wrong = run(List.of("posttls-finger", "-c", "-l", "secure", "-F", ca.certFile.toString(),
                    "[127.0.0.1]:" + s.smtp(), "other.example.test"), null);
            assertThat(wrong).as(wrong).doesNotContain("Verified TLS connection established");
        }
    }
}
