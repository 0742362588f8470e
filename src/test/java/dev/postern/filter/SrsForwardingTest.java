package dev.postern.filter;

import dev.postern.config.Config;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SRS end to end: an alias forwards to another host with the sender rewritten (the recipient named directly
 * keeps the original sender), a bounce to the rewritten address reaches the original sender, and forged or
 * expired SRS addresses are refused at RCPT.
 */
class SrsForwardingTest {

    private static void await(ScriptedPeer p, int n) throws InterruptedException {
        for (int i = 0; i < 500 && p.received.size() < n; i++) Thread.sleep(20);
        assertThat(p.received).hasSize(n);
    }

    @Test void forwardedMailLeavesWithAnSrsSenderAndItsBounceGoesBack(@TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("srs.secret"), "test-secret\n");
        try (ScriptedPeer remote = new ScriptedPeer("127.0.0.2");
             ScriptedPeer origin = new ScriptedPeer("127.0.0.3", remote.port());
             TestDnsServer dns = new TestDnsServer().zone(
                     "remote.test. IN MX 10 mx.remote.test.", "mx.remote.test. IN A 127.0.0.2",
                     "other.test. IN MX 10 mx.other.test.", "mx.other.test. IN A 127.0.0.3")) {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), remote.port(), "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).alias("fwd@example.test", "friend@remote.test")
                    .srs(new Config.Srs("example.test", secret, Set.of(), Duration.ofDays(21))).start();
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                c.command("MAIL FROM:<carol@other.test>", "250");
                c.command("RCPT TO:<fwd@example.test>", "250");
                c.command("RCPT TO:<bob@remote.test>", "250");
                c.command("DATA", "354");
                c.raw("From: carol@other.test\r\nSubject: for my friend\r\n\r\nhello\r\n.\r\n");
                c.expect("250");
                await(remote, 2);
                ScriptedPeer.Received forwarded = remote.received.stream().filter(r -> r.rcptTo().get(0).startsWith("<friend@")).findFirst().orElseThrow();
                ScriptedPeer.Received direct = remote.received.stream().filter(r -> r.rcptTo().get(0).startsWith("<bob@")).findFirst().orElseThrow();
                assertThat(direct.mailFrom()).startsWith("<carol@other.test>");
                String srs = forwarded.mailFrom().replaceAll("^<([^>]*)>.*", "$1");
                assertThat(srs).matches("SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=other.test=carol@example.test");
                assertThat(s.server.smtp().stats()).containsEntry("postern_srs_forwarded_total", 1L);
                // the remote host bounces it: the bounce goes to carol at her own MX
                try (SmtpClient b = SmtpClient.ehlo(s.smtp())) {
                    assertThat(b.sendMail("", srs, "From: MAILER-DAEMON@remote.test\r\nSubject: Undelivered\r\n\r\nsorry\r\n")).startsWith("250");
                }
                await(origin, 1);
                assertThat(origin.received.get(0).rcptTo().get(0)).startsWith("<carol@other.test>");
                assertThat(origin.received.get(0).mailFrom()).startsWith("<>");
                // forged and expired addresses are nobody's
                try (SmtpClient b = SmtpClient.ehlo(s.smtp())) {
                    b.command("MAIL FROM:<>", "250");
                    String forged = srs.replaceFirst("SRS0=....", "SRS0=AAAA");
                    assertThat(b.command("RCPT TO:<" + forged + ">", "550")).startsWith("550 5.1.1").contains("SRS hash does not match");
                    Srs past = new Srs(List.of("test-secret"), "example.test", Set.of(), 21,
                            Clock.fixed(Instant.now().minus(Duration.ofDays(30)), ZoneOffset.UTC));
                    String old = past.forward("carol", "other.test");
                    assertThat(b.command("RCPT TO:<" + old + ">", "550")).startsWith("550 5.1.1").contains("expired");
                }
                assertThat(s.server.smtp().stats()).containsEntry("postern_srs_reversed_total", 1L).containsEntry("postern_srs_refused_total", 2L);
            }
        }
    }
}
