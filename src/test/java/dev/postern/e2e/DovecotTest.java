package dev.postern.e2e;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDovecot;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Postern beside a real Dovecot (Debian's 2.3): as the MX of a relay domain handed to Dovecot's LMTP on its
 * unix socket, with recipients verified at RCPT by probing that socket; and with Dovecot reading Postern's
 * own Maildirs. Messages are read back with Python's imaplib.
 */
class DovecotTest {
    private static final Config.Policy VERIFYING = new Config.Policy(
            Map.of("rcpt", List.of("permit_mynetworks", "permit_authenticated", "reject_unauth_destination", "reject_unverified_recipient")),
            Set.of(), Map.of(), 1, Map.of());

    private static Config.Recipients relay(String... domains) {
        return Config.Recipients.DEFAULT.withRelayDomains(Set.of(domains));
    }

    private static long metric(TestServer s, String name) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)").matcher(s.metrics());
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** A message as Dovecot stores it: the trace fields LMTP and we added, then exactly what the client sent. */
    private static void assertTraceThenOriginal(String stored, String sent) {
        assertThat(stored).endsWith(sent);
        String trace = stored.substring(0, stored.length() - sent.length());
        for (String line : trace.split("\r\n")) {
            assertThat(line).as(stored).matches("(Return-Path|Delivered-To|Received): .*|[ \t].*");
        }
    }

    @Test void relayDomainGoesToDovecotOverItsLmtpSocketAndUnknownUsersAreRefusedAtRcpt(@TempDir Path tmp) throws Exception {
        try (TestDovecot dovecot = TestDovecot.start(tmp.resolve("dovecot"), tmp.resolve("store"), null, "alice@lmtp.test")) {
            TestServer.Builder b = TestServer.builder().policy(VERIFYING).recipients(relay("lmtp.test"))
                    .transport("lmtp.test", "lmtp:unix:" + dovecot.lmtpSocket());
            TestServer mx = b.start();
            Path data = mx.config.dataDir();
            try {
                String sent = "Subject: to the store\r\nFrom: <someone@internet.test>\r\n\r\nhello alice\r\n..a dotted line";
                try (SmtpClient c = SmtpClient.ehlo(mx.smtp())) { // a client from the Internet: no relay rights
                    assertThat(c.sendMail("someone@internet.test", "alice@lmtp.test", sent)).startsWith("250 2.0.0");
                }
                List<String> got = awaitMessages(dovecot, "alice@lmtp.test", "INBOX", 1);
                assertThat(got).hasSize(1);
                assertTraceThenOriginal(got.get(0), sent.replace("\r\n..", "\r\n.") + "\r\n");
                assertThat(got.get(0)).contains("Delivered-To: alice@lmtp.test");
                long probes = metric(mx, "postern_verify_probes_total");
                assertThat(probes).isEqualTo(1);

                try (SmtpClient c = SmtpClient.ehlo(mx.smtp())) {
                    c.command("MAIL FROM:<someone@internet.test>", "250");
                    String first = c.command("RCPT TO:<nobody@lmtp.test>", "550");
                    assertThat(first).startsWith("550 5.1.1").contains("undeliverable address").contains("User doesn't exist");
                    assertThat(metric(mx, "postern_verify_probes_total")).isEqualTo(probes + 1);
                    long hits = metric(mx, "postern_verify_cache_hits_total");
                    assertThat(c.command("RCPT TO:<nobody@lmtp.test>", "550")).startsWith("550 5.1.1");
                    assertThat(metric(mx, "postern_verify_probes_total")).as("answered from the cache").isEqualTo(probes + 1);
                    assertThat(metric(mx, "postern_verify_cache_hits_total")).isEqualTo(hits + 1);
                    // an address of a domain that is neither ours nor relayed: still no relaying
                    assertThat(c.command("RCPT TO:<x@elsewhere.test>", "554")).contains("Relay access denied");

                    dovecot.stop();
                    assertThat(c.command("RCPT TO:<carol@lmtp.test>", "450")).startsWith("450 4.1.1").contains("unverified address");
                    assertThat(c.command("RCPT TO:<alice@lmtp.test>", "250")).as("a verified address needs no probe").startsWith("250");
                    c.command("QUIT", "221");
                }
            } finally {
                mx.stop(); // keeps the data directory for the restart below
            }
            // the answers survive a restart (verify.db), while the store is still down
            try (TestServer again = TestServer.builder().restartIn(data.getParent()).policy(VERIFYING).recipients(relay("lmtp.test"))
                    .transport("lmtp.test", "lmtp:unix:" + dovecot.lmtpSocket()).start();
                 SmtpClient c = SmtpClient.ehlo(again.smtp())) {
                assertThat(Files.readAllLines(data.resolve("verify.db")).get(0)).isEqualTo("postern-verify 1");
                c.command("MAIL FROM:<someone@internet.test>", "250");
                c.command("RCPT TO:<alice@lmtp.test>", "250");
                c.command("RCPT TO:<nobody@lmtp.test>", "550 5.1.1");
                assertThat(metric(again, "postern_verify_probes_total")).isZero();
            }
        }
    }

    @Test void smtputf8IsRequiredOfDovecotOnlyWhenTheMessageNeedsIt(@TempDir Path tmp) throws Exception {
        try (TestDovecot dovecot = TestDovecot.start(tmp.resolve("dovecot"), tmp.resolve("store"), null, "alice@lmtp.test", "bob@lmtp.test");
             TestServer mx = TestServer.builder().recipients(relay("lmtp.test"))
                     .transport("lmtp.test", "lmtp:unix:" + dovecot.lmtpSocket()).start()) {
            String ascii = "Subject: plain ascii\r\n\r\nsent with SMTPUTF8 anyway\r\n";
            try (SmtpClient c = SmtpClient.ehlo(mx.smtp())) {
                c.command("MAIL FROM:<someone@internet.test> SMTPUTF8", "250");
                c.command("RCPT TO:<alice@lmtp.test>", "250");
                c.command("DATA", "354");
                c.raw(ascii + ".\r\n");
                c.expect("250");
                // a UTF-8 header: Dovecot 2.3's LMTP does not offer SMTPUTF8, so this one cannot go there
                c.command("MAIL FROM:<alice@example.test> SMTPUTF8", "250");
                c.command("RCPT TO:<bob@lmtp.test>", "250");
                c.command("DATA", "354");
                c.raw("Subject: Grüße\r\n\r\nnon-ASCII header\r\n.\r\n");
                c.expect("250");
            }
            List<String> got = awaitMessages(dovecot, "alice@lmtp.test", "INBOX", 1);
            assertThat(got).hasSize(1);
            assertTraceThenOriginal(got.get(0), ascii);
            // the other bounces to its local sender with 5.6.7
            List<Path> bounce = mx.awaitMail("alice@example.test", 1);
            assertThat(bounce).hasSize(1);
            assertThat(Files.readString(bounce.get(0))).contains("5.6.7").contains("does not support SMTPUTF8");
            assertThat(dovecot.fetchAll("bob@lmtp.test", "INBOX")).isEmpty();
        }
    }

    @Test void dovecotReadsPosternsMaildirsInArrivalOrderWithSubaddressesAndEarlyLogins(@TempDir Path tmp) throws Exception {
        Config.Recipients r = Config.Recipients.DEFAULT.withDelimiters("+");
        r = new Config.Recipients(r.relayDomains(), null, "+", r.verifyPositive(), r.verifyNegative(), r.probeTimeout(),
                r.probeConcurrency(), true, "defer", "mail:mail");
        try (TestServer mx = TestServer.builder().recipients(r).start()) {
            Path mailboxes = mx.config.mailboxesDir();
            // created as "postern user add" creates them (the test server adds users through the store directly)
            for (String u : List.of("alice", "bob")) {
                dev.postern.deliver.MaildirWriter.createMaildir(mailboxes, mx.maildir(u + "@example.test"),
                        dev.postern.deliver.MailboxOwner.parse("mail:mail"));
            }
            try (TestDovecot dovecot = TestDovecot.start(tmp.resolve("dovecot"), mailboxes, null, "alice@example.test", "bob@example.test")) {
                // bob logs in before his first mail: Dovecot must not make directories Postern cannot use
                assertThat(dovecot.fetchAll("bob@example.test", "INBOX")).isEmpty();
                int n = 12;
                try (SmtpClient c = SmtpClient.ehlo(mx.smtp())) {
                    for (int i = 0; i < n; i++) {
                        assertThat(c.sendMail("someone@internet.test", "alice+news@example.test", "Subject: number " + i + "\r\n\r\nbody\r\n"))
                                .startsWith("250");
                    }
                    c.sendMail("someone@internet.test", "bob@example.test", "Subject: for bob\r\n\r\nhi\r\n");
                }
                List<String> got = awaitMessages(dovecot, "alice@example.test", "INBOX", n);
                assertThat(got).hasSize(n);
                for (int i = 0; i < n; i++) {
                    assertThat(got.get(i)).as("UID order is arrival order").contains("Subject: number " + i + "\r\n");
                    assertThat(got.get(i)).contains("Delivered-To: alice+news@example.test");
                }
                assertThat(awaitMessages(dovecot, "bob@example.test", "INBOX", 1)).hasSize(1);
                assertThat(Files.getOwner(mx.maildir("bob@example.test").resolve("new")).getName()).isEqualTo("mail");
            }
        }
    }

    @Test void aQuotaDovecotKeepsIsHonouredAndKeptUpToDate(@TempDir Path tmp) throws Exception {
        Config.Recipients d = Config.Recipients.DEFAULT;
        Config.Recipients r = new Config.Recipients(d.relayDomains(), null, "", d.verifyPositive(), d.verifyNegative(), d.probeTimeout(),
                d.probeConcurrency(), false, "defer", "mail:mail");
        try (TestServer mx = TestServer.builder().recipients(r).start()) {
            Path mailboxes = mx.config.mailboxesDir();
            dev.postern.deliver.MaildirWriter.createMaildir(mailboxes, mx.maildir("alice@example.test"),
                    dev.postern.deliver.MailboxOwner.parse("mail:mail"));
            try (TestDovecot dovecot = TestDovecot.start(tmp.resolve("dovecot"), mailboxes, "4k", "alice@example.test")) {
                // Dovecot's quota plugin writes maildirsize when it first counts the mailbox
                assertThat(dovecot.quota("alice@example.test")).isEqualTo("\"User quota\" (STORAGE 0 4)");
                assertThat(mx.maildir("alice@example.test").resolve("maildirsize")).exists();
                try (SmtpClient c = SmtpClient.ehlo(mx.smtp())) {
                    assertThat(c.sendMail("x@remote.test", "alice@example.test", "Subject: fits\r\n\r\n" + "a".repeat(1500))).startsWith("250");
                    mx.awaitQueueIdle();
                    // Postern counted its delivery in maildirsize, so Dovecot's figure moved without a rescan
                    assertThat(dovecot.quota("alice@example.test")).matches("\"User quota\" \\(STORAGE 2 4\\)"); // KiB, rounded up
                    assertThat(c.sendMail("x@remote.test", "alice@example.test", "Subject: too much\r\n\r\n" + "b".repeat(3000))).startsWith("250");
                    mx.awaitQueueIdle();
                    assertThat(mx.server.queue().list()).hasSize(1);
                    assertThat(mx.server.queue().list().get(0).recipients().get(0).lastReply()).contains("452 4.2.2");
                    c.command("MAIL FROM:<x@remote.test>", "250");
                    c.command("RCPT TO:<alice@example.test>", "452 4.2.2");
                }
                assertThat(dovecot.fetchAll("alice@example.test", "INBOX")).hasSize(1);
            }
        }
    }

    private static List<String> awaitMessages(TestDovecot d, String user, String folder, int n) throws Exception {
        long deadline = System.currentTimeMillis() + 15_000;
        List<String> got = List.of();
        while (System.currentTimeMillis() < deadline) {
            got = d.fetchAll(user, folder);
            if (got.size() >= n) return got;
            Thread.sleep(100);
        }
        return got;
    }
}
