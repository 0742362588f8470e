package dev.postern.admin;

import dev.postern.policy.Dmarc;
import dev.postern.policy.DmarcReports;
import dev.postern.policy.Spf;
import dev.postern.route.DnsjavaDns;
import dev.postern.testing.MutableClock;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** dmarc_reports_send: yesterday's reports go out once, whatever restarts or repeated timer ticks happen. */
class DmarcReportSenderTest {

    @Test void yesterdaysReportsAreMailedOnce() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T15:00:00Z"));
        try (TestDnsServer dns = new TestDnsServer();
             TestServer server = TestServer.builder().clock(clock).start()) {
            var rec = Map.of("p", "none", "rua", "mailto:bob@example.test");
            var pass = new Dmarc.Evaluation(Dmarc.Result.PASS, "example.test", "example.test", Dmarc.Disposition.NONE,
                    Dmarc.Disposition.NONE, true, false, rec, "");
            new DmarcReports(server.config.dataDir().resolve("dmarc"), clock)
                    .record("192.0.2.1", pass, "a@example.test", new Spf.Outcome(Spf.Result.PASS, "example.test", ""), List.of(), "none");
            DmarcReportSender sender = new DmarcReportSender(server.config,
                    new DnsjavaDns(List.of(dns.address()), Duration.ofSeconds(2)), server.server.queue(), clock);
            sender.sendYesterdayOnce(); // the 23rd is not over: nothing yet
            Thread.sleep(200);
            assertThat(server.maildir("bob@example.test").resolve("new")).doesNotExist();
            clock.advance(Duration.ofHours(10)); // 01:00 on the 24th
            sender.sendYesterdayOnce();
            sender.sendYesterdayOnce();
            assertThat(server.awaitMail("bob@example.test", 1)).hasSize(1);
            Thread.sleep(300);
            assertThat(server.awaitMail("bob@example.test", 1)).as("sent once").hasSize(1);
            assertThat(server.config.dataDir().resolve("dmarc/sent/2026-11-23")).exists();
            assertThat(Files.readString(server.awaitMail("bob@example.test", 1).get(0))).contains("Report Domain: example.test");
        }
    }
}
