package dev.postern.deliver;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Batched Maildir publishing: files written and fsynced by each delivery, renamed and dir-fsynced together. */
class MaildirWriterTest {
    @TempDir Path dir;

    @Test void concurrentDeliveriesShareOneDirectoryFsyncPerMailboxAndEachReturnsOnlyOnceDurable() throws Exception {
        MaildirWriter w = new MaildirWriter(dir, "mx.example.test");
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        w.publishing.lock(); // the publisher waits: the 40 deliveries gather into one batch
        try {
            for (int i = 0; i < 40; i++) {
                String mailbox = (i % 2 == 0 ? "alice" : "bob") + "@example.test";
                String name = w.uniqueName(1_700_000_000L, "Q" + i, mailbox);
                byte[] content = ("Subject: " + i + "\r\n\r\nbody " + i + "\r\n").getBytes(StandardCharsets.US_ASCII);
                Thread t = new Thread(() -> {
                    try {
                        Path p = w.deliver(mailbox, name, "s@remote.test", mailbox, new ByteArrayInputStream(content));
                        // returned: the file is in new/ already
                        if (!Files.exists(p)) failures.add(new AssertionError("returned before published: " + p));
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                });
                t.start();
                threads.add(t);
            }
            long deadline = System.currentTimeMillis() + 10_000;
            while (w.waiting() < 39 && System.currentTimeMillis() < deadline) Thread.sleep(5);
            assertThat(listNew("alice")).as("nothing visible before the batch is published").isEmpty();
        } finally {
            w.publishing.unlock();
        }
        for (Thread t : threads) t.join(10_000);
        assertThat(failures).isEmpty();
        assertThat(listNew("alice")).hasSize(20);
        assertThat(listNew("bob")).hasSize(20);
        assertThat(Files.readString(listNew("bob").get(0))).startsWith("Return-Path: <s@remote.test>\nDelivered-To: bob@example.test\nSubject: ");
        try (Stream<Path> tmp = Files.list(w.maildirOf("alice@example.test").resolve("tmp"))) {
            assertThat(tmp).as("nothing left in tmp/").isEmpty();
        }
        long batches = w.stats().get("postern_maildir_batches_total");
        long dirSyncs = w.stats().get("postern_maildir_dir_fsyncs_total");
        assertThat(batches).as("40 deliveries in at most 2 batches").isLessThanOrEqualTo(2);
        assertThat(dirSyncs).as("one new/ fsync per mailbox per batch, not per file").isLessThanOrEqualTo(4);
        w.close();
    }

    @Test void aBatchWaitsForFilesStillBeingWrittenButADeliveryAloneIsPublishedAtOnce() throws Exception {
        MaildirWriter w = new MaildirWriter(dir, "mx.example.test", false, false, null, 5_000_000_000L);
        long started = System.nanoTime();
        w.deliver("alice@example.test", "alone", "s@remote.test", "alice@example.test", new ByteArrayInputStream("a\r\n".getBytes()));
        assertThat(System.nanoTime() - started).as("nobody else writing: no wait for the 5 s window").isLessThan(2_000_000_000L);
        assertThat(w.stats().get("postern_maildir_batches_total")).isEqualTo(1);

        // a slow writer: its content arrives 300 ms after a quick delivery has handed its file over
        java.util.concurrent.CountDownLatch slowStarted = new java.util.concurrent.CountDownLatch(1);
        java.io.InputStream slowContent = new java.io.InputStream() {
            private final java.io.InputStream rest = new ByteArrayInputStream("slow\r\n".getBytes());
            private boolean waited;
            @Override public int read() throws java.io.IOException {
                if (!waited) {
                    waited = true;
                    slowStarted.countDown();
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        throw new java.io.InterruptedIOException();
                    }
                }
                return rest.read();
            }
        };
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        Thread slow = new Thread(() -> {
            try {
                w.deliver("bob@example.test", "slow", "s@remote.test", "bob@example.test", slowContent);
            } catch (Throwable e) {
                failures.add(e);
            }
        });
        slow.start();
        slowStarted.await();
        w.deliver("alice@example.test", "quick", "s@remote.test", "alice@example.test", new ByteArrayInputStream("q\r\n".getBytes()));
        slow.join(10_000);
        assertThat(failures).isEmpty();
        assertThat(listNew("alice")).hasSize(2);
        assertThat(listNew("bob")).hasSize(1);
        assertThat(w.stats().get("postern_maildir_batches_total")).as("the quick file waited for the slow one: one batch for both").isEqualTo(2);
        w.close();
    }

    private List<Path> listNew(String user) throws Exception {
        Path d = dir.resolve("example.test").resolve(user).resolve("Maildir").resolve("new");
        if (!Files.isDirectory(d)) return List.of();
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().toList();
        }
    }

    @Test void namesOfOneSecondSortByTheirMicrosecondFieldInArrivalOrder() {
        MaildirWriter w = new MaildirWriter(dir, "mx.example.test");
        long second = 1_796_000_000_000L;
        List<Long> micros = new ArrayList<>();
        String previous = null;
        for (int i = 0; i < 50; i++) {
            long arrival = second + i * 7;  // several messages per millisecond and many per second
            String id = dev.postern.mail.QueueId.next(arrival);
            String name = w.uniqueName(arrival, id, "alice@example.test");
            assertThat(name).startsWith("1796000000.M").endsWith(".mx.example.test");
            assertThat(name).isEqualTo(w.uniqueName(arrival, id, "alice@example.test")); // derived, so redelivery finds it
            // what Dovecot's maildir_filename_sort_cmp reads: the digits after the first M
            micros.add(Long.parseLong(name.substring(name.indexOf(".M") + 2, name.indexOf('Q'))));
            if (previous != null) assertThat(name).isNotEqualTo(previous);
            previous = name;
        }
        assertThat(micros).isSorted();
        w.close();
    }

    @Test void maildirsizeQuotaIsReadAndEachDeliveryCounted() throws Exception {
        Path md = Files.createDirectories(dir.resolve("Maildir"));
        assertThat(MaildirQuota.read(md)).as("no file, no quota").isNull();
        Files.writeString(md.resolve("maildirsize"), "1000S,3C\n0 0\n400 1\n300 1\n");
        MaildirQuota.Usage u = MaildirQuota.read(md);
        assertThat(u).isEqualTo(new MaildirQuota.Usage(1000, 3, 700, 2));
        assertThat(u.exceededBy(300)).isFalse();
        assertThat(u.exceededBy(301)).isTrue();
        Path msg = Files.writeString(md.resolve("m"), "x".repeat(250));
        MaildirQuota.record(md, msg);
        assertThat(Files.readString(md.resolve("maildirsize"))).endsWith("300 1\n250 1\n");
        assertThat(MaildirQuota.read(md).exceededBy(1)).as("3 messages of 3").isTrue();
        Files.writeString(md.resolve("maildirsize"), "0S\n5 1\n");
        assertThat(MaildirQuota.read(md)).as("a limit of 0 is no limit").isNull();
    }
}
