package dev.postern.queue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.postern.queue.SpoolContractTest.body;
import static dev.postern.queue.SpoolContractTest.commit;
import static dev.postern.queue.SpoolContractTest.content;
import static org.assertj.core.api.Assertions.assertThat;

/** What is particular to the group-commit log: torn tails, segment deletion, fsyncs shared by many. */
class LogSpoolTest {
    @TempDir Path dir;

    LogSpool open(long segmentSize) throws Exception {
        LogSpool s = new LogSpool(dir, Clock.systemUTC(), segmentSize);
        s.recover();
        return s;
    }

    List<Path> segments() throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve("log"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    Path prepared() { return dir.resolve("log").resolve(SegmentPreparer.PREPARED); }

    @Test void segmentNumbersAreASetThatGrows() {
        LogSpool.SegmentNumbers n = new LogSpool.SegmentNumbers();
        assertThat(n.size()).isZero();
        assertThat(n.add(7)).isTrue();
        assertThat(n.add(7)).as("once each").isFalse();
        for (long s = 8; s < 20; s++) assertThat(n.add(s)).isTrue();
        assertThat(n.add(12)).isFalse();
        assertThat(n.size()).isEqualTo(13);
        java.util.Set<Long> held = new java.util.HashSet<>();
        for (int i = 0; i < n.size(); i++) held.add(n.get(i));
        assertThat(held).containsExactlyInAnyOrder(7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L);
    }

    @Test void oneFsyncCoversManyConcurrentMessages() throws Exception {
        LogSpool spool = open(64 << 20);
        ExecutorService pool = Executors.newFixedThreadPool(50);
        for (int i = 0; i < 2000; i++) {
            int n = i;
            pool.execute(() -> {
                try {
                    commit(spool, body(1024, n));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        long[] stats = spool.syncStats();
        // each message is a CHUNK and a COMMIT; with 50 writers most fsyncs must carry several messages
        assertThat(stats[0]).isLessThan(2000);
        assertThat((double) stats[1] / stats[0]).isGreaterThan(2.0);
        spool.close();
    }

    @Test void tornRecordAtTheTailIsDroppedAndEverythingBeforeItKept() throws Exception {
        LogSpool spool = open(64 << 20);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.add(commit(spool, body(3000, i)).id());
        spool.close();
        Path seg = segments().get(segments().size() - 1);
        long goodSize = Files.size(seg);
        // a crash in the middle of appending the next record: a length that promises more than is there
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 0, 1, 0, 1, 2, 3, 4, 2, 14, 'x', 'y'}));
        }
        LogSpool again = new LogSpool(dir, Clock.systemUTC(), 64 << 20);
        assertThat(again.recover()).extracting(QueuedMessage::id).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(Files.size(seg)).isEqualTo(goodSize);
        for (String id : ids) assertThat(content(again, id)).hasSize(3000);
        again.close();
    }

    @Test void randomCrashPointsNeverLoseAnAcknowledgedMessage() throws Exception {
        // A thousand simulated crashes: the log as it was when each COMMIT was acknowledged, plus an
        // arbitrary torn prefix of what was written after it, then the end of the file or (half the time)
        // the zeros of a segment prepared ahead. Recovery must keep every acknowledged message.
        LogSpool spool = open(64 << 20);
        List<String> ids = new ArrayList<>();
        List<Long> ackedSize = new ArrayList<>();
        Path seg = segments().get(0);
        for (int i = 0; i < 40; i++) {
            ids.add(commit(spool, body(200 + i * 53, i)).id());
            ackedSize.add(Files.size(seg));
        }
        spool.close();
        byte[] full = Files.readAllBytes(seg);
        Random random = new Random(42);
        Path crashDir = dir.resolve("crash");
        for (int trial = 0; trial < 1000; trial++) {
            int acked = random.nextInt(ids.size());
            int cut = (int) (ackedSize.get(acked) + random.nextInt((int) (full.length - ackedSize.get(acked)) + 1));
            Path log = Files.createDirectories(crashDir.resolve("log"));
            try (Stream<Path> old = Files.list(log)) {
                for (Path p : old.toList()) Files.delete(p);
            }
            byte[] image = java.util.Arrays.copyOf(full, cut);
            if (cut > ackedSize.get(acked) && random.nextBoolean()) {
                // unsynced pages may be garbage after a power loss, not just missing
                int from = (int) (long) ackedSize.get(acked);
                for (int k = from + random.nextInt(cut - from); k < cut; k++) image[k] = (byte) random.nextInt();
            }
            if (random.nextBoolean()) image = java.util.Arrays.copyOf(image, full.length + 4096); // a segment prepared ahead: zeros follow
            Files.write(log.resolve(seg.getFileName()), image);
            LogSpool s = new LogSpool(crashDir, Clock.systemUTC(), 64 << 20);
            List<String> recovered = s.recover().stream().map(QueuedMessage::id).toList();
            assertThat(recovered).as("trial " + trial + ", cut at " + cut).containsAll(ids.subList(0, acked + 1));
            assertThat(recovered).isSubsetOf(ids);
            s.close();
        }
    }

    @Test void finishedSegmentsAreDeletedButNeverBeforeAnOlderLiveRecord() throws Exception {
        LogSpool spool = open(8 * 1024); // tiny segments
        QueuedMessage pinned = commit(spool, body(2000, 0));
        List<QueuedMessage> rest = new ArrayList<>();
        for (int i = 1; i < 40; i++) rest.add(commit(spool, body(2000, i)));
        int before = segments().size();
        assertThat(before).isGreaterThan(5);
        for (QueuedMessage m : rest) spool.remove(m.id());
        // the segments holding only finished messages are gone; the first, with the live one, stays
        List<Path> after = segments();
        assertThat(after.size()).isLessThan(before);
        assertThat(after.get(0).getFileName().toString()).isEqualTo("000000000001.log");
        spool.saveState(pinned); // a STATE record for it in the newest segment
        spool.remove(pinned.id());
        commit(spool, body(9000, 99)); // moves the writer to a new segment; the clean-up runs in the background
        for (int i = 0; i < 200 && segments().size() > 2; i++) Thread.sleep(10);
        assertThat(segments().size()).isLessThanOrEqualTo(2);
        spool.close();
        LogSpool again = new LogSpool(dir, Clock.systemUTC(), 8 * 1024);
        assertThat(again.recover()).hasSize(1); // only the last message; nothing finished came back
        again.close();
    }

    /**
     * A removed message's entry goes at once (it lived on until its segments went, and then died in the old
     * generation), but the segment with its REMOVE still outlives the older segment with its COMMIT: else a
     * restart would find the message again.
     */
    @Test void aRemovedMessageIsForgottenButItsRemoveOutlivesItsOlderRecords() throws Exception {
        LogSpool spool = open(8 * 1024); // tiny segments
        QueuedMessage pinned = commit(spool, body(2000, 0)); // keeps segment 1 alive
        QueuedMessage spanning = commit(spool, body(2000, 1)); // its COMMIT in segment 1 as well
        assertThat(segments()).hasSize(1);
        List<QueuedMessage> fillers = new ArrayList<>();
        for (int i = 2; i < 20; i++) fillers.add(commit(spool, body(2000, i)));
        for (QueuedMessage m : fillers) spool.remove(m.id());
        spool.saveState(spanning); // moves it into the newest segment too
        spool.remove(spanning.id());
        Path removedIn = segments().get(segments().size() - 1);
        assertThat(removedIn.getFileName().toString()).isNotEqualTo("000000000001.log");
        assertThat(spool.entryCount()).isEqualTo(1); // only the pinned message
        QueuedMessage big = commit(spool, body(9000, 99)); // moves the writer past that segment
        spool.remove(big.id()); // and collects garbage (a deletion found by another pass may take a moment more)
        Thread.sleep(300);
        assertThat(segments()).contains(dir.resolve("log").resolve("000000000001.log"), removedIn);
        assertThat(segments().size()).isLessThan(8); // the fillers' own segments went
        spool.close();

        LogSpool again = new LogSpool(dir, Clock.systemUTC(), 8 * 1024);
        assertThat(again.recover()).extracting(QueuedMessage::id).doesNotContain(spanning.id()).contains(pinned.id());
        again.remove(pinned.id()); // segment 1 may go now, and with it the one with the REMOVE
        for (int i = 0; i < 300 && Files.exists(removedIn); i++) Thread.sleep(10);
        assertThat(segments()).doesNotContain(removedIn, dir.resolve("log").resolve("000000000001.log"));
        again.close();
    }

    @Test void recordsOverwriteASegmentPreparedAheadAndItsZerosEndTheLog() throws Exception {
        long size = 256 * 1024; // preparation starts at half of it
        LogSpool spool = open(size);
        List<String> ids = new ArrayList<>();
        for (int i = 0; !Files.exists(prepared()); i++) {
            assertThat(i).as("a prepared segment within 5 s").isLessThan(500);
            if (segments().size() == 1 && i < 8) ids.add(commit(spool, body(20_000, i)).id()); // past the threshold, not yet full
            else Thread.sleep(10);
        }
        assertThat(Files.size(prepared())).isEqualTo(size);
        while (segments().size() < 2) ids.add(commit(spool, body(20_000, ids.size())).id());
        Path second = segments().get(1);
        // the second segment is the prepared file: full size from the start, the records at its front
        assertThat(Files.size(second)).isEqualTo(size);
        ids.add(commit(spool, body(20_000, ids.size())).id());
        assertThat(Files.size(second)).isEqualTo(size);
        spool.close();

        LogSpool again = new LogSpool(dir, Clock.systemUTC(), size);
        assertThat(again.recover()).extracting(QueuedMessage::id).containsExactlyInAnyOrderElementsOf(ids);
        for (String id : ids) assertThat(content(again, id)).hasSize(20_000);
        assertThat(Files.size(second)).as("the zeros after the last record go at recovery").isLessThan(size);
        again.close();
    }

    @Test void aWholePreparedSegmentIsKeptForTheNextStartAndAHalfWrittenOneRemoved() throws Exception {
        long size = 64 * 1024;
        Files.createDirectories(dir.resolve("log"));
        Files.write(prepared(), new byte[(int) size]);
        Files.write(dir.resolve("log").resolve(SegmentPreparer.PREPARING), new byte[100]);
        LogSpool spool = open(size);
        assertThat(dir.resolve("log").resolve(SegmentPreparer.PREPARING)).doesNotExist();
        Path first = segments().get(0);
        assertThat(Files.size(first)).as("the first segment of this start is the prepared file").isEqualTo(size);
        String id = commit(spool, body(3000, 1)).id();
        spool.close();
        LogSpool again = new LogSpool(dir, Clock.systemUTC(), size);
        assertThat(again.recover()).extracting(QueuedMessage::id).containsExactly(id);
        assertThat(content(again, id)).hasSize(3000);
        again.close();
    }

    @Test void aPreparedFileOfAnotherSegmentSizeIsNotUsed() throws Exception {
        Files.createDirectories(dir.resolve("log"));
        Files.write(prepared(), new byte[10_000]);
        LogSpool spool = open(64 * 1024);
        assertThat(prepared()).doesNotExist();
        assertThat(Files.size(segments().get(0))).isZero();
        spool.close();
    }
}
