package dev.postern.e2e;

import dev.postern.config.Config;
import dev.postern.queue.QueuedMessage;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Postern's own Maildir delivery: sub-address folders and Maildir++ quota, over a real socket. */
class LocalMailboxTest {

    private static Config.Recipients settings(boolean folders, String overQuota) {
        Config.Recipients d = Config.Recipients.DEFAULT;
        return new Config.Recipients(d.relayDomains(), null, "+", d.verifyPositive(), d.verifyNegative(), d.probeTimeout(),
                d.probeConcurrency(), folders, overQuota, null);
    }

    @Test void aSubaddressGoesToTheFolderOfThatNameWhenItExists() throws Exception {
        try (TestServer s = TestServer.builder().recipients(settings(true, "defer")).start()) {
            Path md = s.maildir("alice@example.test");
            dev.postern.deliver.MaildirWriter.createMaildir(s.config.mailboxesDir(), md.resolve(".news"), null);
            try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("x@remote.test", "alice+news@example.test", "Subject: to the folder")).startsWith("250");
                assertThat(c.sendMail("x@remote.test", "alice+other@example.test", "Subject: no such folder")).startsWith("250");
                assertThat(c.sendMail("x@remote.test", "alice+a/b@example.test", "Subject: no escape")).startsWith("250");
            }
            s.awaitQueueIdle();
            List<Path> folder = TestServer.list(md.resolve(".news/new"));
            assertThat(folder).hasSize(1);
            assertThat(Files.readString(folder.get(0))).contains("Delivered-To: alice+news@example.test\n").contains("Subject: to the folder");
            List<Path> inbox = s.awaitMail("alice@example.test", 2);
            assertThat(inbox).hasSize(2);
            assertThat(TestServer.list(s.config.mailboxesDir().resolve("example.test")))
                    .extracting(p -> p.getFileName().toString()).containsExactlyInAnyOrder("alice");
        }
    }

    @Test void aMailboxOverItsQuotaDefersThenAnswers452AtRcpt() throws Exception {
        try (TestServer s = TestServer.builder().recipients(settings(false, "defer")).start()) {
            Path md = s.maildir("alice@example.test");
            dev.postern.deliver.MaildirWriter.createMaildir(s.config.mailboxesDir(), md, null);
            Files.writeString(md.resolve("maildirsize"), "2000S\n0 0\n1900 3\n"); // as Dovecot's quota plugin keeps it
            try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("x@remote.test", "alice@example.test", "Subject: too big\r\n\r\n" + "y".repeat(300))).startsWith("250");
                s.awaitQueueIdle();
                QueuedMessage m = s.server.queue().list().get(0);
                assertThat(m.recipients().get(0).lastReply()).contains("452 4.2.2").contains("over its quota");
                assertThat(TestServer.list(md.resolve("new"))).isEmpty();
                c.command("MAIL FROM:<x@remote.test>", "250");
                assertThat(c.command("RCPT TO:<alice@example.test>", "452")).startsWith("452 4.2.2");
                assertThat(c.command("RCPT TO:<bob@example.test>", "250")).startsWith("250");
                c.command("RSET", "250");
                // room again: the next delivery fits, and is counted in maildirsize
                Files.writeString(md.resolve("maildirsize"), "2000S\n0 0\n");
                assertThat(c.sendMail("x@remote.test", "bob@example.test", "Subject: hello")).startsWith("250");
            }
            s.server.queue().flush();
            assertThat(s.awaitMail("alice@example.test", 1)).hasSize(1);
            long deadline = System.currentTimeMillis() + 5000;
            while (Files.readAllLines(md.resolve("maildirsize")).size() < 3 && System.currentTimeMillis() < deadline) Thread.sleep(20);
            List<String> lines = Files.readAllLines(md.resolve("maildirsize"));
            assertThat(lines).hasSize(3);
            assertThat(lines.get(2)).matches("\\d{3} 1");
        }
    }

    @Test void withOverQuotaBounceTheSenderGetsA552Report() throws Exception {
        try (TestServer s = TestServer.builder().recipients(settings(false, "bounce")).start()) {
            Path md = s.maildir("alice@example.test");
            dev.postern.deliver.MaildirWriter.createMaildir(s.config.mailboxesDir(), md, null);
            Files.writeString(md.resolve("maildirsize"), "0S,1C\n0 0\n10 1\n");
            try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("bob@example.test", "alice@example.test", "Subject: full")).startsWith("250");
            }
            List<Path> bounce = s.awaitMail("bob@example.test", 1);
            assertThat(bounce).hasSize(1);
            assertThat(Files.readString(bounce.get(0))).contains("5.2.2").contains("over its quota");
        }
    }
}
