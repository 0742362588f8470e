package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slow look-ups must never slow anyone else: 200 sessions sending from domains whose name server never
 * answers (SPF at RCPT, SPF, DKIM and DMARC at end of data) while 8 ordinary clients send from a domain
 * that answers. The ordinary clients keep at least 70% of the rate they have alone, and each slow session
 * gets every reply within the DNS timeout plus one second.
 */
class DnsIsolationTest {
    static final Duration DNS_TIMEOUT = Duration.ofSeconds(2);
    static final long BOUND_MILLIS = DNS_TIMEOUT.toMillis() + 1000;
    static TestDnsServer dns;

    @BeforeAll static void zones() throws Exception {
        dns = new TestDnsServer().zone(
                "fast.test. IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"",
                "_dmarc.fast.test. IN TXT \"v=DMARC1; p=none\"").silent("silent.test");
    }

    @AfterAll static void stop() { dns.close(); }

    @Test void sessionsWaitingOnASilentNameServerDoNotSlowOthers() throws Exception {
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), 25, "mx.example.test", null,
                Config.TlsMode.MAY, 20, 100).withDnsTimeout(DNS_TIMEOUT);
        Config.Policy policy = new Config.Policy(Map.of("rcpt", List.of("reject_unauth_destination", "reject_spf_fail")),
                Set.of(), Map.of(), 1, Map.of());
        Config.Auth auth = new Config.Auth("mx.example.test", true, "enforce", "header", false, null, "flag", false, false, null);
        try (TestServer server = TestServer.builder().delivery(d).policy(policy).auth(auth).maxConnections(1000, 400).start()) {
            int port = server.smtp();
            ordinary(port, 3_000); // warm up (JIT)
            int alone = ordinary(port, 3_000);

            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> late = new ConcurrentLinkedQueue<>();
            AtomicInteger slowDone = new AtomicInteger();
            List<Thread> slow = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                Thread t = new Thread(() -> slowSender(port, "s" + n + ".silent.test", stop, late, slowDone), "slow-" + i);
                t.setDaemon(true);
                t.start();
                slow.add(t);
            }
            Thread.sleep(500);
            int beside = ordinary(port, 3_000);
            stop.set(true);
            for (Thread t : slow) t.join(3 * BOUND_MILLIS + 2_000);

            org.slf4j.LoggerFactory.getLogger("test").info("ordinary clients: {} messages alone, {} beside 200 slow sessions; {} slow transactions; {} questions unanswered",
                    alone, beside, slowDone.get(), dns.unanswered());
            assertThat(dns.unanswered()).as("questions the silent name server swallowed").isGreaterThan(200);
            assertThat(slowDone.get()).as("slow transactions finished").isGreaterThanOrEqualTo(200);
            assertThat(late).as("slow sessions' replies later than the DNS timeout + 1 s").isEmpty();
            assertThat(beside).as("messages accepted beside 200 slow sessions vs %d alone", alone).isGreaterThanOrEqualTo(alone * 7 / 10);
        }
    }

    /** 8 clients sending from fast.test for the given time; returns how many messages got their 250. */
    private static int ordinary(int port, long millis) throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        long end = System.currentTimeMillis() + millis;
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> {
                try (SmtpClient c = SmtpClient.ehlo(port)) {
                    while (System.currentTimeMillis() < end) {
                        c.command("MAIL FROM:<a@fast.test>", "250");
                        c.command("RCPT TO:<alice@example.test>", "250");
                        c.command("DATA", "354");
                        c.raw("From: a@fast.test\r\nSubject: ordinary\r\n\r\nhello\r\n.\r\n");
                        if (c.reply().startsWith("250")) accepted.incrementAndGet();
                    }
                    c.command("QUIT", "221");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) t.join();
        return accepted.get();
    }

    /** One session from a silent domain: every reply is timed; replies later than the bound are recorded. */
    private static void slowSender(int port, String domain, AtomicBoolean stop, ConcurrentLinkedQueue<String> late, AtomicInteger done) {
        try (SmtpClient c = SmtpClient.ehlo(port)) {
            do {
                c.command("MAIL FROM:<u@" + domain + ">", "250");
                long t0 = System.nanoTime();
                c.command("RCPT TO:<alice@example.test>", "250");
                timed("RCPT", t0, late);
                c.command("DATA", "354");
                c.raw("From: u@" + domain + "\r\nSubject: slow\r\n\r\nhello\r\n.\r\n");
                t0 = System.nanoTime();
                String r = c.reply();
                timed("end of data (" + r + ")", t0, late);
                if (r.startsWith("2") || r.startsWith("4")) done.incrementAndGet();
                else late.add("unexpected reply " + r);
            } while (!stop.get());
        } catch (Exception | AssertionError e) {
            late.add(domain + ": " + e);
        }
    }

    private static void timed(String what, long t0, ConcurrentLinkedQueue<String> late) {
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (ms > BOUND_MILLIS) late.add(what + " took " + ms + " ms");
    }
}
