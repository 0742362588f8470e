package dev.postern.admin;

import dev.postern.auth.UserStore;
import dev.postern.config.ConfigLoader;
import dev.postern.testing.LogOnFailure;
import dev.postern.testing.MailLoad;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestCa;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "postern reload" under load: a limit changes, a listener is added and the certificate is swapped while
 * clients keep sending; no session fails, no message is lost, sessions already open keep the old limit, and
 * a file with errors is refused with file:line while the running configuration stays.
 */
@ExtendWith(LogOnFailure.class)
class ReloadTest {
    @TempDir Path dir;

    @Test void reloadUnderLoadChangesALimitAddsAListenerAndSwapsTheCertificate() throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] first = ca.issue("first", "mx.example.test");
        Path[] second = ca.issue("second", "mx.example.test");
        int port = freePort(), added = freePort();
        Path file = dir.resolve("postern.toml");
        Files.writeString(file, config(port, 0, 5, first));
        Server server = Server.start(ConfigLoader.load(file, true), Clock.systemUTC());
        try {
            server.reloadsFrom(file);
            new UserStore(dir.resolve("data/users")).put("alice@example.test", "pw");
            server.reload(); // accounts and the same file: nothing changes but the certificate read again

            AtomicBoolean stop = new AtomicBoolean();
            Set<String> acked = ConcurrentHashMap.newKeySet();
            List<String> failures = new CopyOnWriteArrayList<>();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                String prefix = "c" + c + "m";
                Thread t = new Thread(() -> send(port, prefix, acked, failures, stop));
                t.start();
                clients.add(t);
            }
            SmtpClient open = SmtpClient.ehlo(port); // a session begun under max_recipients = 5
            open.command("MAIL FROM:<old@remote.test>", "250");
            Thread.sleep(500);

            // the new file: max_recipients 5 → 2, a second listener, the other certificate; refused first when broken
            Files.writeString(file, config(port, added, 2, second).replace("max_recipients = 2", "max_recipients = 2\nmax_recipents = 3"));
            QueueCliTest.Run refused = QueueCliTest.cli(file, "reload"); // the CLI reads the file first, as check-config
            assertThat(refused.code()).isEqualTo(2);
            assertThat(refused.err()).contains("postern.toml:").contains("limits.max_recipents: unknown key");
            Reload.Result byServer = server.reload(); // SIGHUP's path: the server refuses it itself
            assertThat(byServer.refused()).isTrue();
            assertThat(byServer.problems()).anyMatch(p -> p.contains("postern.toml:") && p.contains("limits.max_recipents: unknown key"));
            try (SmtpClient c = SmtpClient.ehlo(port)) { // the running configuration stayed
                c.command("MAIL FROM:<x@remote.test>", "250");
                for (int i = 0; i < 3; i++) c.command("RCPT TO:<alice@example.test>", "250");
            }

            Files.writeString(file, config(port, added, 2, second));
            long begun = System.nanoTime();
            QueueCliTest.Run r = QueueCliTest.cli(file, "reload");
            long millis = (System.nanoTime() - begun) / 1_000_000;
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("limits.max_recipients").contains("listeners").contains("tls certificates")
                    .contains("auth.received_forgery").doesNotContain("kept until a restart");
            System.out.println("reload took " + millis + " ms (CLI in process, through the admin endpoint)");
            Thread.sleep(500);

            // new sessions: the new limit, the new listener, the new certificate
            try (SmtpClient c = SmtpClient.ehlo(port)) {
                c.command("MAIL FROM:<x@remote.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "452 4.5.3");
            }
            try (SmtpClient c = SmtpClient.ehlo(port)) { // [auth] too: a forged Received field is refused now
                assertThat(c.sendMail("z@remote.test", "alice@example.test",
                        "Received: from x by mx.example.test; Wed, 2 Dec 2026 10:00:00 +0000\r\nSubject: forged\r\n\r\nhi"))
                        .startsWith("550 5.7.1");
            }
            try (SmtpClient c = SmtpClient.ehlo(added)) {
                assertThat(c.sendMail("y@remote.test", "alice@example.test", "X-Test-Id: on-the-new-listener\r\n\r\nhi")).startsWith("250");
            }
            try (SmtpClient c = SmtpClient.ehlo(port)) {
                c.startTls();
                X509Certificate presented = c.peerCertificate();
                assertThat(presented.getSerialNumber()).isEqualTo(serial(second[0]));
            }
            // the session begun before the reload keeps its limit of 5
            for (int i = 0; i < 3; i++) open.command("RCPT TO:<alice@example.test>", "250");
            open.command("DATA", "354");
            open.raw("X-Test-Id: the-old-session\r\n\r\nstill here\r\n.\r\n");
            assertThat(open.reply()).startsWith("250");
            open.close();

            Thread.sleep(500);
            stop.set(true);
            for (Thread t : clients) t.join(15_000);
            assertThat(failures).as("no session failed").isEmpty();
            assertThat(acked).as("the load sent enough to mean something").hasSizeGreaterThan(50);
            Path maildir = dir.resolve("data/mailboxes/example.test/alice/Maildir");
            long deadline = System.currentTimeMillis() + 30_000;
            Map<String, Integer> seen = MailLoad.countIds(maildir);
            while (!seen.keySet().containsAll(acked) && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
                seen = MailLoad.countIds(maildir);
            }
            assertThat(seen.keySet()).as("every acknowledged message delivered").containsAll(acked)
                    .contains("on-the-new-listener", "the-old-session");
            assertThat(seen.values()).as("none twice").allMatch(n -> n == 1);
        } finally {
            server.close();
        }
    }

    @Test void aReloadChangesTheTlsLevelOfDeliveries() throws Exception {
        int port = freePort();
        try (dev.postern.testing.ScriptedPeer peer = new dev.postern.testing.ScriptedPeer("127.0.0.2")) { // offers no STARTTLS
            Path file = dir.resolve("postern.toml");
            String base = "data_dir = \"data\"\nhostname = \"mx.example.test\"\ndomains = [\"example.test\"]\n"
                    + "relay_networks = [\"127.0.0.1/32\"]\n[listeners.smtp]\nbind = \"127.0.0.1:" + port + "\"\nkind = \"smtp\"\n"
                    + "[transport]\n\"remote.test\" = \"smtp:[127.0.0.2]:" + peer.port() + "\"\n[auth]\nverify = false\n";
            Files.writeString(file, base + "[delivery]\ntls = \"may\"\nmta_sts = false\n");
            Server server = Server.start(ConfigLoader.load(file, true), Clock.systemUTC());
            try {
                server.reloadsFrom(file);
                try (SmtpClient c = SmtpClient.ehlo(port)) {
                    assertThat(c.sendMail("a@example.test", "one@remote.test", "Subject: plain\r\n\r\nx")).startsWith("250");
                }
                long deadline = System.currentTimeMillis() + 10_000;
                while (peer.received.isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(20);
                assertThat(peer.received).as("delivered without TLS at level may").hasSize(1);

                Files.writeString(file, base + "[delivery]\ntls = \"encrypt\"\nmta_sts = false\n");
                Reload.Result r = server.reload();
                assertThat(r.applied()).contains("delivery.tls");
                assertThat(r.problems()).isEmpty();
                String id;
                try (SmtpClient c = SmtpClient.ehlo(port)) {
                    String reply = c.sendMail("a@example.test", "two@remote.test", "Subject: must be encrypted\r\n\r\nx");
                    assertThat(reply).startsWith("250");
                    id = reply.substring(reply.lastIndexOf(' ') + 1);
                }
                deadline = System.currentTimeMillis() + 10_000;
                String last = null;
                while (System.currentTimeMillis() < deadline) {
                    var m = server.queue().get(id);
                    if (m != null && m.recipients().get(0).lastReply() != null) {
                        last = m.recipients().get(0).lastReply();
                        break;
                    }
                    Thread.sleep(20);
                }
                assertThat(peer.received).as("not sent in plaintext after the reload").hasSize(1);
                assertThat(last).as("deferred for want of TLS").isNotNull().contains("TLS");
            } finally {
                server.close();
            }
        }
    }

    private static void send(int port, String prefix, Set<String> acked, List<String> failures, AtomicBoolean stop) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            MailLoad.expect(in, "220");
            MailLoad.send(out, "EHLO load.test\r\n");
            MailLoad.expect(in, "250 ");
            for (int n = 0; !stop.get(); n++) {
                String id = prefix + n;
                MailLoad.send(out, "MAIL FROM:<c@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                MailLoad.expect(in, "250");
                MailLoad.expect(in, "250");
                MailLoad.expect(in, "354");
                MailLoad.send(out, "Subject: load\r\nX-Test-Id: " + id + "\r\n\r\nbody\r\n.\r\n");
                MailLoad.expect(in, "250");
                acked.add(id);
            }
            MailLoad.send(out, "QUIT\r\n");
            MailLoad.expect(in, "221");
        } catch (Exception e) {
            failures.add(prefix + ": " + e);
        }
    }

    private String config(int port, int added, int maxRecipients, Path[] pair) {
        return "data_dir = \"data\"\nhostname = \"mx.example.test\"\ndomains = [\"example.test\"]\n"
                + "[listeners.smtp]\nbind = \"127.0.0.1:" + port + "\"\nkind = \"smtp\"\n"
                + (added == 0 ? "" : "[listeners.more]\nbind = \"127.0.0.1:" + added + "\"\nkind = \"smtp\"\n")
                + "[tls]\ncert = \"" + pair[0] + "\"\nkey = \"" + pair[1] + "\"\n"
                + "[limits]\nmax_recipients = " + maxRecipients + "\n"
                // no DNS in this test: sender verification off; the reload turns on refusing forged Received fields
                + "[auth]\nverify = false\nreceived_forgery = \"" + (added == 0 ? "flag" : "reject") + "\"\n";
    }

    private static java.math.BigInteger serial(Path certPem) throws Exception {
        try (var in = Files.newInputStream(certPem)) {
            return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
