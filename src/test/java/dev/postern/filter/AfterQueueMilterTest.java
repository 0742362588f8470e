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

import static dev.postern.testing.ScriptedMilter.reply;
import static dev.postern.testing.ScriptedMilter.str;
import static org.assertj.core.api.Assertions.assertThat;

/** [milter] after_queue = true: the 250 comes first, the milters' verdict after it, and a restart loses nothing pending. */
class AfterQueueMilterTest {
    private static final String MESSAGE = "From: alice@example.test\r\nSubject: after the queue\r\n\r\nbody\r\n";

    private static Config.Milter afterQueue(ScriptedMilter m) {
        return new Config.Milter(List.of(m.spec()), "tempfail", Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(5), true);
    }

    private static TestServer.Builder server(ScriptedMilter m) {
        return TestServer.builder().user("alice@example.test").user("bob@example.test").milter(afterQueue(m));
    }

    private static String id(String reply) { return reply.substring(reply.lastIndexOf(' ') + 1); }

    private static void awaitGone(TestServer s, String id) throws InterruptedException {
        for (int i = 0; i < 500 && s.server.queue().get(id) != null; i++) Thread.sleep(20);
        assertThat(s.server.queue().get(id)).as(id + " still queued").isNull();
    }

    @Test void verdictsAfterThe250() throws Exception {
        try (ScriptedMilter m = new ScriptedMilter()) {
            m.script = p -> p.command() == 'E' ? List.of(reply('h', str("X-Scanned", "after queue")), reply('c')) : List.of(reply('c'));
            try (TestServer s = server(m).start(); SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                // changed: the filtered message replaces the original, delivered once
                String first = c.sendMail("alice@example.test", "bob@example.test", MESSAGE);
                assertThat(first).startsWith("250 2.0.0 Ok: queued as");
                awaitGone(s, id(first));
                List<Path> got = s.awaitMail("bob@example.test", 1);
                assertThat(got).hasSize(1);
                assertThat(Files.readString(got.get(0))).contains("X-Scanned: after queue").contains("Subject: after the queue");

                // a reject becomes a bounce with the milter's words
                m.script = p -> p.command() == 'E' ? List.of(reply('y', str("550 5.7.1 looks like spam"))) : List.of(reply('c'));
                String refused = c.sendMail("alice@example.test", "bob@example.test", MESSAGE);
                assertThat(refused).startsWith("250");
                awaitGone(s, id(refused));
                List<Path> dsn = s.awaitMail("alice@example.test", 1);
                assertThat(Files.readString(dsn.get(0))).contains("5.7.1").contains("looks like spam");

                // quarantine: held
                m.script = p -> p.command() == 'E' ? List.of(reply('q', str("suspicious")), reply('c')) : List.of(reply('c'));
                String held = c.sendMail("alice@example.test", "bob@example.test", MESSAGE);
                for (int i = 0; i < 200 && !m.commands().endsWith("E"); i++) Thread.sleep(20);
                Thread.sleep(200);
                assertThat(s.server.queue().get(id(held)).held()).isTrue();

                // discard: gone, nothing delivered; unchanged: released and delivered
                m.script = p -> p.command() == 'E' ? List.of(reply('d')) : List.of(reply('c'));
                String dropped = c.sendMail("alice@example.test", "bob@example.test", MESSAGE);
                awaitGone(s, id(dropped));
                m.script = p -> List.of(reply('c'));
                String plain = c.sendMail("alice@example.test", "bob@example.test", "Subject: plain\r\n\r\nx\r\n");
                awaitGone(s, id(plain));
                assertThat(s.awaitMail("bob@example.test", 2)).hasSize(2);
                assertThat(Files.readAllLines(s.config.dataDir().resolve("milter-pending.db"))).containsExactly("postern-milter-pending 1");
            }
        }
    }

    @Test void aMessageWaitingForAMilterThatIsDownIsFilteredAfterARestart() throws Exception {
        ScriptedMilter down = new ScriptedMilter();
        down.close(); // nothing listens there: default_action tempfail, try again later
        TestServer s = server(down).start();
        Path data = s.config.dataDir();
        String id;
        try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
            id = id(c.sendMail("alice@example.test", "bob@example.test", MESSAGE));
            Thread.sleep(500);
            assertThat(s.server.queue().get(id).held()).isTrue();
            assertThat(Files.readAllLines(data.resolve("milter-pending.db"))).contains(id);
        } finally {
            s.stop();
        }
        try (ScriptedMilter up = new ScriptedMilter();
             TestServer again = server(up).restartIn(data.getParent()).start()) {
            awaitGone(again, id);
            assertThat(again.awaitMail("bob@example.test", 1)).hasSize(1);
            assertThat(up.commands()).contains("E");
        }
    }
}
