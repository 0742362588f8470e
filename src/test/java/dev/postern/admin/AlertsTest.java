package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.mail.Nexthop;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** [alerts] over a real server: a growing queue, an old message, a destination that defers, a full disk. */
class AlertsTest {

    @Test void queueAgeDeferralsAndDiskAreAlertedAndClear() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // nothing listens there once this closes: every attempt is deferred
        }
        Config.Delivery d = new Config.Delivery(Nexthop.parse("[127.0.0.1]:" + closed, 25), null, null, List.of(), 25, "mx.example.test", null,
                Config.TlsMode.MAY, 20, 100);
        Config.Alerts a = new Config.Alerts(2, Duration.ofSeconds(1), 0.5, Long.MAX_VALUE / (1024 * 1024 * 2));
        try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).alerts(a).start()) {
            assertThat(s.server.alerts().check()).singleElement().asString().startsWith("disk: ");
            String id;
            try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                c.command("MAIL FROM:<alice@example.test>", "250");
                for (int i = 0; i < 10; i++) c.command("RCPT TO:<user" + i + "@remote.test>", "250");
                c.command("DATA", "354");
                String reply = c.command("Subject: stuck\r\n\r\nx\r\n.", "250");
                id = reply.substring(reply.lastIndexOf(' ') + 1);
                c.sendMail("alice@example.test", "bob@remote.test", "Subject: also stuck\r\n\r\nx\r\n");
            }
            for (int i = 0; i < 500 && s.server.queue().get(id).recipients().get(0).attempts() == 0; i++) Thread.sleep(20);
            Thread.sleep(1100);
            List<String> alerts = s.server.alerts().check();
            assertThat(alerts).anyMatch(x -> x.startsWith("queue: 2 messages (alert at 2)"))
                    .anyMatch(x -> x.startsWith("queue: the oldest message has waited"))
                    .anyMatch(x -> x.equals("deferrals: 11 of 11 recipients at remote.test deferred"))
                    .anyMatch(x -> x.startsWith("disk: "));
            assertThat(s.server.alerts().stats()).containsEntry("postern_alert_queue_size", 1L).containsEntry("postern_alert_oldest_message", 1L)
                    .containsEntry("postern_alert_deferring_destinations", 1L).containsEntry("postern_alert_disk_free", 1L);
            assertThat(s.server.alerts().stats().get("postern_queue_oldest_seconds")).isGreaterThanOrEqualTo(1L);
            // deleting the stuck mail clears the queue alerts
            for (var m : s.server.queue().list()) s.server.queue().delete(m.id());
            assertThat(s.server.alerts().check()).singleElement().asString().startsWith("disk: ");
            assertThat(s.server.alerts().stats()).containsEntry("postern_alert_queue_size", 0L).containsEntry("postern_alert_deferring_destinations", 0L);
        }
    }
}
