package dev.postern.filter;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestRspamd;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Debian's rspamd as the milter, as an administrator would put it in front of Postern. */
class RspamdMilterTest {
    static final String GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    @Test void gtubeIsRefusedScoredMailGetsRspamdsHeadersAndAStoppedRspamdTempfails(@TempDir Path dir) throws Exception {
        try (TestDnsServer dns = new TestDnsServer()) {
            TestRspamd rspamd = TestRspamd.start(dir.resolve("rspamd"), dns.address());
            Config.Milter m = new Config.Milter(List.of(rspamd.milterSpec()), "tempfail", Duration.ofSeconds(5), Duration.ofSeconds(30),
                    Duration.ofSeconds(60));
            try (TestServer s = TestServer.builder().user("bob@example.test").milter(m).start()) {
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "bob@example.test", "From: alice@example.test\r\nSubject: test\r\n\r\n"
                            + GTUBE + "\r\n")).startsWith("554 5.7.1");
                    // no Date: rspamd scores it (MISSING_DATE) and says so in its headers
                    assertThat(c.sendMail("alice@example.test", "bob@example.test", "From: alice@example.test\r\nSubject: hello\r\n\r\nhi\r\n"))
                            .startsWith("250 2.0.0 Ok: queued as");
                }
                String stored = Files.readString(s.awaitMail("bob@example.test", 1).get(0));
                assertThat(stored).contains("X-Spamd-Result: default: False [").contains("MISSING_DATE").contains("X-Spam-Status: No, score=");
                assertThat(s.awaitMail("bob@example.test", 1)).hasSize(1);
                rspamd.close();
                try (SmtpClient c = SmtpClient.connect(s.smtp())) {
                    c.expect("220");
                    long t0 = System.nanoTime();
                    assertThat(c.command("EHLO client.test", "451")).startsWith("451 4.7.1");
                    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(6));
                }
            } finally {
                rspamd.close();
            }
        }
    }
}
