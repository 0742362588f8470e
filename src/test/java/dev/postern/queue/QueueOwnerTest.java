package dev.postern.queue;

import dev.postern.deliver.MaildirWriter;
import dev.postern.deliver.SmtpDelivery;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.QueueId;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.route.DnsjavaDns;
import dev.postern.route.MxRouter;
import dev.postern.route.Router;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The queue's owner thread: it sleeps until the earliest due message, and an idle queue costs nothing. */
class QueueOwnerTest {
    @TempDir Path dir;

    QueueManager manager(Spool spool) throws Exception {
        // remote.test goes to a port where nothing listens: every attempt defers
        MxRouter mx = new MxRouter(new DnsjavaDns(List.of(new InetSocketAddress("127.0.0.1", 9)), Duration.ofMillis(200)),
                Map.of("remote.test", dev.postern.mail.Nexthop.parse("[127.0.0.1]:9", 25)), null, 25, "mx.example.test", a -> false, new java.util.Random());
        return new QueueManager(spool, new Router(Set.of("example.test"), Map.of(), a -> false, "mx.example.test"),
                new MaildirWriter(dir.resolve("mailboxes"), "mx.example.test"), mx,
                new SmtpDelivery(SmtpDelivery.Settings.defaults("mx.example.test")), "mx.example.test",
                Clock.systemUTC(), QueueManager.Times.DEFAULT, 20, 20);
    }

    static QueuedMessage deferred(Instant arrival, Instant next) {
        Recipient r = new Recipient(new Address("friend", "remote.test"));
        Envelope e = new Envelope(new ReversePath(new Address("s", "example.test")), List.of(r), null, false, null, null,
                "c", "127.0.0.1", null, arrival);
        RecipientState s = new RecipientState(r, RecipientState.Status.DEFERRED, 1, next, "451 4.4.1 connection refused");
        return new QueuedMessage(QueueId.next(arrival.toEpochMilli()), e, List.of(s), 20);
    }

    /** CPU time of the queue's own threads (owner, writers, delivery workers), in nanoseconds. */
    static long queueThreadsCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t == null) continue;
            String n = t.getThreadName();
            if (n.startsWith("queue-") || n.startsWith("delivery-")) sum += Math.max(0, mx.getThreadCpuTime(t.getThreadId()));
        }
        return sum;
    }

    @Test void aHundredThousandDeferredMessagesCostNoCpuWhileNoneIsDue() throws Exception {
        Instant now = Instant.now();
        List<QueuedMessage> waiting = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) waiting.add(deferred(now.minusSeconds(60).minusMillis(i), now.plusSeconds(600 + i % 3000)));
        MemorySpool spool = new MemorySpool(waiting);
        try (QueueManager m = manager(spool)) {
            assertThat(m.recover()).isEqualTo(100_000);
            for (int i = 0; i < 1000 && m.pending() > 0; i++) Thread.sleep(10);
            assertThat(m.pending()).isZero();
            assertThat(m.list()).hasSize(100_000);
            Thread.sleep(200);

            long before = queueThreadsCpu();
            Thread.sleep(3000);
            long used = queueThreadsCpu() - before;
            assertThat(used).as("CPU ns spent by the queue in 3 s with nothing due").isLessThan(1_000_000);
            assertThat(spool.saved).as("nothing was attempted").isEmpty();

            // and it is asleep, not dead: one message made due is attempted at once
            String one = waiting.get(500).id();
            assertThat(m.retry(one)).isTrue();
            for (int i = 0; i < 500 && !spool.saved.contains(one); i++) Thread.sleep(10);
            assertThat(spool.saved).containsExactly(one);
        }
    }

    @Test void wakesWhenTheEarliestMessageFallsDue() throws Exception {
        Instant now = Instant.now();
        QueuedMessage soon = deferred(now.minusSeconds(60), now.plusMillis(800));
        QueuedMessage later = deferred(now.minusSeconds(60), now.plusSeconds(3600));
        MemorySpool spool = new MemorySpool(List.of(later, soon));
        try (QueueManager m = manager(spool)) {
            m.recover();
            for (int i = 0; i < 500 && !spool.saved.contains(soon.id()); i++) Thread.sleep(10);
            assertThat(spool.saved).as("attempted when due, without anyone calling tick()").containsExactly(soon.id());
            assertThat(Instant.now()).isAfterOrEqualTo(soon.recipients().get(0).nextAttempt());
            assertThat(m.get(soon.id()).recipients().get(0).attempts()).isEqualTo(2);
        }
    }
}
