package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Time-outs (RFC 5321 4.5.3.2) and connection limits, with small values so the test is quick. */
class LimitsTest {

    @Test void dictionaryAttackIsCutOffAfterTwentyErrors() throws Exception {
        try (TestServer server = TestServer.builder().start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<probe@remote.test>", "250");
            for (int i = 1; i < SmtpSession.MAX_ERRORS; i++) c.command("RCPT TO:<guess" + i + "@example.test>", "550 5.1.1");
            c.command("RCPT TO:<alice@example.test>", "250"); // successes do not reset the count
            c.command("RCPT TO:<guess20@example.test>", "550 5.1.1");
            assertThat(c.reply()).isEqualTo("421 4.7.0 Error: too many errors, closing connection");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void junkCommandsAreCutOffAfterAHundred() throws Exception {
        try (TestServer server = TestServer.builder().start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < SmtpSession.MAX_JUNK_COMMANDS; i++) batch.append(i % 2 == 0 ? "NOOP\r\n" : "RSET\r\n");
            c.raw(batch.toString()); // pipelined
            for (int i = 0; i < SmtpSession.MAX_JUNK_COMMANDS; i++) c.expect("250");
            assertThat(c.command("NOOP", "421")).isEqualTo("421 4.7.0 Error: too many NOOP, RSET, VRFY or HELP commands, closing connection");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void idleClientIsDroppedWith421() throws Exception {
        try (TestServer server = TestServer.builder().timeouts(Duration.ofMillis(500), Duration.ofMillis(500)).start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.expect("421 4.4.2");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test void slowDripOfOneCommandIsDropped() throws Exception {
        try (TestServer server = TestServer.builder().timeouts(Duration.ofMillis(800), Duration.ofMillis(800)).start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            // bytes keep coming but the command never completes within the command time-out
            try {
                for (int i = 0; i < 6 && c.available() == 0; i++) {
                    c.raw("N");
                    Thread.sleep(200);
                }
            } catch (java.io.IOException closedWhileWriting) {
                // the server hung up mid-drip; its 421 is still in our receive buffer
            }
            c.expect("421 4.4.2");
        }
    }

    @Test void stalledDataIsDropped() throws Exception {
        try (TestServer server = TestServer.builder().timeouts(Duration.ofSeconds(5), Duration.ofMillis(500)).start();
             SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@remote.test>", "250");
            c.command("RCPT TO:<alice@example.test>", "250");
            c.command("DATA", "354");
            c.raw("Subject: stalled\r\n");
            c.expect("421 4.4.2");
        }
    }

    @Test void connectionLimitsAnswer421() throws Exception {
        try (TestServer server = TestServer.builder().maxConnections(3, 2).start()) {
            List<SmtpClient> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    SmtpClient c = SmtpClient.connect(server.smtp());
                    c.expect("220");
                    open.add(c);
                }
                try (SmtpClient third = SmtpClient.connect(server.smtp())) {
                    third.expect("421 4.7.0"); // per-address limit of 2
                    assertThat(third.closedByServer()).isTrue();
                }
                open.get(0).command("QUIT", "221");
                open.get(0).closedByServer();
                Thread.sleep(100);
                try (SmtpClient again = SmtpClient.connect(server.smtp())) {
                    again.expect("220"); // a slot was freed
                }
            } finally {
                for (SmtpClient c : open) c.close();
            }
        }
    }
}
