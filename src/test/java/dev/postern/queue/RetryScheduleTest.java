package dev.postern.queue;

import dev.postern.config.Config;
import dev.postern.testing.MutableClock;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Five days of retries in a few seconds, with the injected clock: backoff between 300 s and 4000 s, a delay
 * warning after 4 hours, expiry and a bounce after 5 days, and a restart in the middle that keeps the schedule.
 */
class RetryScheduleTest {

    @Test void backoffDelayWarningRestartAndExpiry() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-24T00:00:00Z"));
        try (ScriptedPeer peer = new ScriptedPeer("127.0.0.2")) {
            peer.rcptReply = r -> "450 4.2.1 try again later";
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(), peer.port(), "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            TestServer server = TestServer.builder().relayNetworks("127.0.0.1/32").clock(clock).delivery(d)
                    .transport("remote.test", "[127.0.0.2]:" + peer.port()).start();
            Path dir = server.dir;
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.sendMail("alice@example.test", "friend@remote.test", "Subject: patience\r\n\r\nhi");
            }
            QueuedMessage m = awaitAttempts(server, 1);
            RecipientState s = m.recipients().get(0);
            assertThat(s.status()).isEqualTo(RecipientState.Status.DEFERRED);
            long firstWait = Duration.between(clock.instant(), s.nextAttempt()).toSeconds();
            assertThat(firstWait).isBetween(270L, 330L); // 300 s ± 10% jitter

            Instant firstAttempt = clock.instant();
            // nothing happens before the next attempt is due
            clock.advance(Duration.ofSeconds(200));
            server.server.queue().tick();
            server.awaitQueueIdle();
            assertThat(server.server.queue().list().get(0).recipients().get(0).attempts()).isEqualTo(1);

            int attempts = 1;
            Instant lastAttempt = firstAttempt;
            boolean restarted = false;
            while (attempts < 400) {
                QueuedMessage q = server.server.queue().list().isEmpty() ? null : server.server.queue().list().get(0);
                if (q == null || q.isDone()) break;
                Instant next = q.recipients().get(0).nextAttempt();
                long gap = Duration.between(lastAttempt, next).toSeconds();
                assertThat(gap).as("backoff stays between the bounds").isBetween(200L, 4400L);
                clock.advance(Duration.between(clock.instant(), next).plusSeconds(1));
                lastAttempt = clock.instant();
                if (!restarted && Duration.between(Instant.parse("2026-11-24T00:00:00Z"), clock.instant()).toHours() >= 24) {
                    // restart in the middle: the schedule and attempt count survive
                    server.stop();
                    server = TestServer.builder().relayNetworks("127.0.0.1/32").clock(clock).delivery(d)
                            .transport("remote.test", "[127.0.0.2]:" + peer.port()).restartIn(dir).start();
                    restarted = true;
                    server.awaitQueueIdle();
                    assertThat(server.server.queue().list().get(0).recipients().get(0).attempts()).isEqualTo(attempts + 1);
                    attempts++;
                    continue;
                }
                server.server.queue().tick();
                attempts++;
                awaitAttempts(server, attempts);
            }
            assertThat(restarted).isTrue();
            // 5 days at up to 4000 s between attempts: roughly 110 attempts
            assertThat(attempts).isBetween(100, 130);
            server.awaitQueueIdle();
            List<Path> notices = server.awaitMail("alice@example.test", 2);
            assertThat(notices).hasSize(2);
            String all = Files.readString(notices.get(0)) + Files.readString(notices.get(1));
            assertThat(all).contains("Subject: Delayed Mail (still being retried)").contains("Action: delayed")
                    .contains("Will-Retry-Until: Sun, 29 Nov 2026 00:00:00 +0000")
                    .contains("Subject: Undelivered Mail Returned to Sender").contains("Action: failed")
                    .contains("message expired after 5 days; last error: 450 4.2.1 try again later");
            assertThat(server.server.queue().list()).isEmpty();
            assertThat(peer.commands.stream().filter(c -> c.startsWith("RCPT")).count()).isEqualTo(attempts);
            server.close();
        }
    }

    private static QueuedMessage awaitAttempts(TestServer server, int attempts) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            var list = server.server.queue().list();
            if (server.server.queue().pending() == 0) {
                if (list.isEmpty()) return null;
                if (list.get(0).recipients().get(0).attempts() >= attempts) return list.get(0);
            }
            Thread.sleep(10);
        }
        throw new AssertionError("attempt " + attempts + " did not happen");
    }
}
