package dev.postern.policy;

import dev.postern.config.Config;
import dev.postern.testing.MutableClock;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Greylisting with the injected clock and a restart; rate limits with a bounded burst of connections. */
class GreylistAndRateTest {

    static Config.Policy policy(Map<String, List<String>> phases, int connectionsPerMinute, int recipientsPerMinute) {
        java.util.Map<String, List<String>> all = new java.util.HashMap<>(Config.Policy.DEFAULT.phases());
        all.putAll(phases);
        return new Config.Policy(all, Set.of(), Map.of(), 1, Map.of(), Duration.ofMinutes(5), Duration.ofDays(2),
                Duration.ofDays(36), connectionsPerMinute, recipientsPerMinute, List.of());
    }

    static String rcpt(TestServer server, String from, String source, String to) throws Exception {
        try (SmtpClient c = SmtpClient.connectFrom(source, server.smtp())) {
            c.expect("220");
            c.command("EHLO client.example", "250");
            c.command("MAIL FROM:<" + from + ">", "250");
            return c.command("RCPT TO:<" + to + ">", "");
        }
    }

    @Test void greylistDefersFirstAttemptsPassesRetriesWhitelistsAndSurvivesRestart() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-24T00:00:00Z"));
        Config.Policy p = policy(Map.of("rcpt", List.of("permit_authenticated", "reject_unauth_destination", "greylist")), 0, 0);
        TestServer server = TestServer.builder().clock(clock).policy(p).start();
        try {
            assertThat(rcpt(server, "a@remote.test", "127.0.0.1", "alice@example.test")).startsWith("451 4.7.1 Greylisted");
            clock.advance(Duration.ofMinutes(2));
            assertThat(rcpt(server, "a@remote.test", "127.0.0.1", "alice@example.test")).startsWith("451 4.7.1"); // too soon
            clock.advance(Duration.ofMinutes(4));
            assertThat(rcpt(server, "a@remote.test", "127.0.0.1", "alice@example.test")).startsWith("250 2.1.5");
            // the network passed once: other triplets from it are not delayed any more
            assertThat(rcpt(server, "other@remote.test", "127.0.0.9", "bob@example.test")).startsWith("250 2.1.5");
            // a new network, first seen before a restart
            assertThat(rcpt(server, "b@remote.test", "127.0.1.1", "alice@example.test")).startsWith("451 4.7.1");
            server.stop();
            server = TestServer.builder().clock(clock).policy(p).restartIn(server.dir).start();
            assertThat(rcpt(server, "c@remote.test", "127.0.0.1", "alice@example.test")).as("whitelist survived").startsWith("250");
            clock.advance(Duration.ofMinutes(6));
            assertThat(rcpt(server, "b@remote.test", "127.0.1.1", "alice@example.test")).as("first-seen survived").startsWith("250");
        } finally {
            server.close();
        }
    }

    @Test void connectionAndRecipientRates() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-24T00:00:10Z"));
        Config.Policy p = policy(Map.of("connect", List.of("rate_limit"),
                "rcpt", List.of("rate_limit", "permit_authenticated", "reject_unauth_destination")), 3, 2);
        try (TestServer server = TestServer.builder().clock(clock).policy(p).start()) {
            for (int i = 0; i < 3; i++) {
                try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                    c.expect("220");
                }
            }
            try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                c.expect("421 4.7.0");
                assertThat(c.closedByServer()).isTrue();
            }
            clock.advance(Duration.ofMinutes(1)); // a new minute
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                c.command("MAIL FROM:<x@remote.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "250");
                c.command("RCPT TO:<bob@example.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "450 4.7.1");
            }
        }
    }

    @Test void messagesPerMinuteAndFailedAuthPerAddress() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-24T00:00:00Z"));
        Config.Policy base = policy(Map.of("connect", List.of("reject_auth_failures"), "data", List.of("rate_limit")), 0, 0);
        Config.Policy p = new Config.Policy(base.phases(), base.warnOnly(), base.dnsblZones(), base.dnsblThreshold(), base.clientAccess(),
                base.greylistDelay(), base.greylistRetryWindow(), base.greylistWhitelist(), 0, 0, List.of(), Map.of(),
                3, 2, Duration.ofMinutes(10));
        try (TestServer server = TestServer.builder().clock(clock).policy(p).start()) {
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                for (int i = 0; i < 3; i++) assertThat(c.sendMail("a@remote.test", "alice@example.test", "Subject: " + i + "\r\n\r\nx")).startsWith("250 2.0.0");
                c.command("MAIL FROM:<a@remote.test>", "250");
                c.command("RCPT TO:<alice@example.test>", "250");
                assertThat(c.command("DATA", "450")).isEqualTo("450 4.7.1 Too many messages per minute, try again later");
            }
            clock.advance(Duration.ofMinutes(1));
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                assertThat(c.sendMail("a@remote.test", "alice@example.test", "Subject: later\r\n\r\nx")).startsWith("250 2.0.0");
            }
            // two failed AUTHs from this address: the next connection is turned away until the window passes
            try (SmtpClient c = SmtpClient.connectTls(server.smtps())) {
                c.expect("220");
                c.command("EHLO client.example", "250");
                c.authPlain("alice@example.test", "wrong", "535");
                c.authPlain("alice@example.test", "wrong again", "535");
            }
            try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                assertThat(c.reply()).isEqualTo("421 4.7.0 Too many failed authentication attempts from your address, try again later");
                assertThat(c.closedByServer()).isTrue();
            }
            clock.advance(Duration.ofMinutes(11));
            try (SmtpClient c = SmtpClient.connect(server.smtp())) {
                assertThat(c.reply()).startsWith("220 ");
            }
        }
    }
}
