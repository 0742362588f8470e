package dev.postern.filter;

import dev.postern.config.Config;
import dev.postern.testing.ScriptedMilter;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.postern.testing.ScriptedMilter.int32;
import static dev.postern.testing.ScriptedMilter.reply;
import static dev.postern.testing.ScriptedMilter.str;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The milter client over real sockets, against a scripted milter: every step and macro, every reply, every
 * modification, several milters in order, and every way a milter can fail.
 */
class MilterTest {
    private static Config.Milter milters(String action, Duration timeout, ScriptedMilter... ms) {
        return new Config.Milter(java.util.Arrays.stream(ms).map(ScriptedMilter::spec).toList(), action, Duration.ofSeconds(5), timeout,
                timeout);
    }

    private static TestServer server(Config.Milter m) throws Exception {
        return TestServer.builder().user("bob@example.test").user("carol@example.test").user("dave@example.test").milter(m).start();
    }

    private static final String MESSAGE = "From: alice@example.test\r\nSubject: hello\r\nX-Old: remove me\r\nX-Old: keep me\r\n\r\nbody line\r\n";

    @Test void everyStepAndMacroIsSentAndEveryModificationIsStored() throws Exception {
        try (ScriptedMilter m = new ScriptedMilter()) {
            m.script = p -> switch (p.command()) {
                case 'E' -> List.of(
                        reply('h', str("X-Added", "by the milter")),
                        reply('i', int32(0), str("X-First", "at the top")),
                        reply('m', int32(1), str("X-Old", "")),                     // deletes the first X-Old
                        reply('m', int32(1), str("Subject", "changed\n\tand folded")),
                        reply('b', "new body\r\n".getBytes()),
                        reply('+', str("<carol@example.test>")),
                        reply('-', str("<bob@example.test>")),
                        reply('e', str("<bounces@example.test>")),
                        reply('c'));
                default -> List.of(reply('c'));
            };
            try (TestServer s = server(milters("tempfail", Duration.ofSeconds(10), m));
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("250 2.0.0 Ok: queued as");
                List<Path> got = s.awaitMail("carol@example.test", 1);
                String stored = Files.readString(got.get(0)).replace("\n", "\r\n"); // Maildir files have LF line ends
                assertThat(stored).startsWith("Return-Path: <bounces@example.test>\r\n");
                assertThat(stored).contains("\r\nX-First: at the top\r\n").contains("Subject: changed\r\n\tand folded\r\n")
                        .contains("X-Added: by the milter\r\n").contains("X-Old: keep me\r\n").doesNotContain("remove me")
                        .endsWith("\r\n\r\nnew body\r\n");
                assertThat(stored.indexOf("Received:")).as("our trace field first").isLessThan(stored.indexOf("X-First"));
                assertThat(s.maildir("bob@example.test").resolve("new")).doesNotExist();
                // connect, helo, mail, rcpt, data, 4 header fields, end of headers, body, end of message
                assertThat(m.commands().replace("D", "")).isEqualTo("CHMRTLLLLNBE");
                assertThat(m.macros).containsEntry("j", "mx.example.test").containsEntry("{client_addr}", "127.0.0.1")
                        .containsEntry("{mail_addr}", "alice@example.test").containsEntry("{rcpt_addr}", "bob@example.test")
                        .containsEntry("{daemon_name}", "postern");
                ScriptedMilter.Packet header = m.received.stream().filter(p -> p.command() == 'L').findFirst().orElseThrow();
                assertThat(header.strings()).containsExactly("From", "alice@example.test"); // the space after the colon dropped
                assertThat(Files.list(s.config.dataDir().resolve("tmp")).toList()).as("the held copy is gone").isEmpty();
                assertThat(s.server.smtp().stats()).containsKey("postern_milter_verdicts_total{milter=\"" + m.spec() + "\",verdict=\"continue\"}");
            }
        }
    }

    @Test void repliesRejectTempfailReplycodeDiscardAndQuarantine() throws Exception {
        try (ScriptedMilter m = new ScriptedMilter()) {
            m.script = p -> switch (p.command()) {
                case 'M' -> p.strings().get(0).equals("<spammer@example.test>") ? List.of(reply('t')) : List.of(reply('c'));
                case 'R' -> p.strings().get(0).equals("<dave@example.test>") ? List.of(reply('y', str("550 5.7.1 not dave"))) : List.of(reply('c'));
                case 'E' -> List.of(reply('c'));
                default -> List.of(reply('c'));
            };
            try (TestServer s = server(milters("tempfail", Duration.ofSeconds(10), m));
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.command("MAIL FROM:<spammer@example.test>", "451")).startsWith("451 4.7.1");
                c.command("MAIL FROM:<alice@example.test>", "250");
                assertThat(c.command("RCPT TO:<dave@example.test>", "550")).isEqualTo("550 5.7.1 not dave");
                c.command("RCPT TO:<bob@example.test>", "250");
                c.command("RSET", "250");
                for (int i = 0; i < 100 && !m.commands().contains("A"); i++) Thread.sleep(20);
                assertThat(m.commands()).contains("A"); // SMFIC_ABORT after RSET

                m.script = p -> p.command() == 'E' ? List.of(reply('r')) : List.of(reply('c'));
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("550 5.7.1");
                m.script = p -> p.command() == 'B' ? List.of(reply('y', str("554 5.7.1 Gtube pattern"))) : List.of(reply('c'));
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).isEqualTo("554 5.7.1 Gtube pattern");
                m.script = p -> p.command() == 'E' ? List.of(reply('d')) : List.of(reply('c'));
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).isEqualTo("250 2.0.0 Ok");
                m.script = p -> p.command() == 'E' ? List.of(reply('q', str("looks odd")), reply('c')) : List.of(reply('c'));
                String queued = c.sendMail("alice@example.test", "bob@example.test", MESSAGE);
                assertThat(queued).startsWith("250 2.0.0 Ok: queued as");
                String id = queued.substring(queued.lastIndexOf(' ') + 1);
                assertThat(s.server.queue().get(id).held()).as("quarantine = hold").isTrue();
                Thread.sleep(300);
                assertThat(s.maildir("bob@example.test").resolve("new")).as("refused, discarded and held: nothing delivered").doesNotExist();
                assertThat(Files.list(s.config.dataDir().resolve("tmp")).toList()).isEmpty();
            }
        }
    }

    @Test void twoMiltersInOrderTheSecondSeesTheFirstsChanges() throws Exception {
        try (ScriptedMilter first = new ScriptedMilter(); ScriptedMilter second = new ScriptedMilter()) {
            first.script = p -> p.command() == 'E' ? List.of(reply('h', str("X-Spam-Score", "1.5")), reply('c')) : List.of(reply('c'));
            second.steps = 0x02 | 0x04 | 0x08 | 0x200; // no HELO, MAIL, RCPT or DATA: those are not sent to it
            try (TestServer s = server(milters("tempfail", Duration.ofSeconds(10), first, second));
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("250");
                assertThat(second.received.stream().filter(p -> p.command() == 'L').map(p -> p.strings().get(0)).toList())
                        .contains("X-Spam-Score");
                assertThat(second.commands().replace("D", "")).isEqualTo("CLLLLLNBE");
                assertThat(Files.readString(s.awaitMail("bob@example.test", 1).get(0))).contains("X-Spam-Score: 1.5\n");
            }
        }
    }

    @Test void aMilterThatFailsGetsTheDefaultActionAndNothingIsHalfStored() throws Exception {
        try (ScriptedMilter m = new ScriptedMilter()) {
            // garbage at end of message
            m.script = p -> p.command() == 'E' ? List.of(reply('Z')) : List.of(reply('c'));
            try (TestServer s = server(milters("tempfail", Duration.ofSeconds(2), m))) {
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("451 4.7.1");
                    c.command("NOOP", "250"); // the session goes on
                }
                // a disconnect in the middle of the body
                m.script = p -> {
                    if (p.command() == 'B') throw new IllegalStateException("hang up");
                    return List.of(reply('c'));
                };
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("451 4.7.1");
                }
                // an oversized packet
                m.script = p -> p.command() == 'E' ? List.of(java.nio.ByteBuffer.allocate(5).putInt(64 << 20).put((byte) 'c').array())
                        : List.of(reply('c'));
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("451 4.7.1");
                }
                // no answer at all: the command time-out (2 s here)
                m.script = p -> p.command() == 'R' ? null : List.of(reply('c'));
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    c.command("MAIL FROM:<alice@example.test>", "250");
                    long t0 = System.nanoTime();
                    assertThat(c.command("RCPT TO:<bob@example.test>", "451")).startsWith("451 4.7.1");
                    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(1500), Duration.ofSeconds(8));
                }
                assertThat(s.server.queue().list()).isEmpty();
                assertThat(Files.list(s.config.dataDir().resolve("tmp")).toList()).isEmpty();
            }
            // default_action accept: a milter that is not there is left out, and mail flows
            m.close();
            try (TestServer s = server(milters("accept", Duration.ofSeconds(2), m));
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("alice@example.test", "bob@example.test", MESSAGE)).startsWith("250 2.0.0 Ok: queued as");
            }
            try (TestServer s = server(milters("reject", Duration.ofSeconds(2), m));
                 SmtpClient c = SmtpClient.connect(s.smtp())) {
                c.expect("220");
                assertThat(c.command("EHLO client.test", "550")).startsWith("550 5.7.1");
            }
        }
    }
}
