package dev.postern.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Prepares the queue log's next segment ahead of need: a file of the segment's full size, written with zeros
 * and fsynced, in the background. Records later written over those zeros leave the file's size and blocks
 * as they were, so the writer's fdatasync flushes the data alone; appending to a growing file also commits
 * the new size and block allocation to the file system's journal. Measured on this project's ext4 machines:
 * 160 µs instead of 360 µs per 50 KB commit, 110 µs instead of 180 µs per 1.5 KB one.
 *
 * <p>The zeros are within the log's format as every release reads it: a record's length is at least 2, so
 * a zero length word ends the log exactly as the end of the file does. A prepared file that is never used
 * (a crash, a stop) is kept for the next start as long as it is whole: it is written under
 * {@value #PREPARING} and renamed to {@value #PREPARED} only once fsynced.
 *
 * <p>The zeros go to the disk a MiB at a time, each fdatasynced before the next is written, so that the
 * writer's commits never queue behind the whole file's writeback.
 *
 * <p>Nothing waits for this: a rotation that finds no prepared file creates an empty segment as before.
 * Preparation starts once the current segment has taken 1 MiB (half of a smaller segment), so a server that sees
 * little mail never writes a 64 MiB file, and only while the file system would keep four segments free.
 */
final class SegmentPreparer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SegmentPreparer.class);
    static final String PREPARED = "next-segment.zero";
    static final String PREPARING = "next-segment.zero.tmp";
    private static final int ZEROS = 1 << 20;

    private final Path dir;
    private final long segmentSize;
    /** Bytes of the current segment after which the next one is prepared. */
    private final long threshold;
    private volatile boolean ready;
    private volatile boolean closed;
    private volatile Thread running;
    /** The segment that last started (or declined) a preparation: one try per segment. */
    private long triedFor = -1;

    SegmentPreparer(Path dir, long segmentSize) throws IOException {
        this.dir = dir;
        this.segmentSize = segmentSize;
        this.threshold = Math.min(1L << 20, segmentSize / 2);
        Files.deleteIfExists(dir.resolve(PREPARING)); // cut short by a stop or a crash
        Path prepared = dir.resolve(PREPARED);
        if (Files.exists(prepared)) {
            if (Files.size(prepared) == segmentSize) ready = true;
            else Files.delete(prepared); // prepared for another segment size
        }
    }

    /**
     * Called by the writer as its segment grows: once per segment, starts preparing the next one when none
     * is ready or being prepared and the file system has room for it.
     */
    void segmentReached(long segment, long length) {
        if (length < threshold || segment == triedFor) return;
        triedFor = segment;
        if (ready || closed || (running != null && running.isAlive())) return;
        try {
            if (Files.getFileStore(dir).getUsableSpace() < 4 * segmentSize) return;
        } catch (IOException e) {
            return;
        }
        running = new Thread(this::prepare, "queue-log-prepare");
        running.setDaemon(true);
        running.start();
    }

    /**
     * Moves a prepared file to target and returns true, or returns false (and leaves target alone) when
     * none is ready. The caller makes the directory entry durable.
     */
    boolean takeAs(Path target) throws IOException {
        if (!ready) return false;
        ready = false;
        if (Files.exists(target)) throw new java.nio.file.FileAlreadyExistsException(target.toString());
        try {
            Files.move(dir.resolve(PREPARED), target, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (java.nio.file.NoSuchFileException e) {
            return false; // removed by hand meanwhile
        }
    }

    private void prepare() {
        Path tmp = dir.resolve(PREPARING);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocateDirect(ZEROS);
            for (long at = 0; at < segmentSize && !closed; ) {
                zeros.clear().limit((int) Math.min(ZEROS, segmentSize - at));
                at += ch.write(zeros, at);
                // a MiB at a time to the disk: a commit's fdatasync queued behind all 64 MiB at once waited up to
                // 22–33 ms here, behind one MiB at most 8–12 ms (probe: 1.5 KB appends + fdatasync meanwhile)
                ch.force(false);
            }
            if (closed) {
                ch.close();
                Files.deleteIfExists(tmp);
                return;
            }
            ch.force(true);
        } catch (IOException e) {
            log.debug("cannot prepare a queue log segment ahead: {}", e.toString());
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the next start removes it
            }
            return;
        }
        try {
            Files.move(tmp, dir.resolve(PREPARED), StandardCopyOption.ATOMIC_MOVE);
            ready = true;
        } catch (IOException e) {
            log.debug("cannot keep the prepared queue log segment: {}", e.toString());
        }
    }

    /** Stops a preparation under way (its half-written file goes); a whole prepared file stays for the next start. */
    @Override public void close() {
        closed = true;
        Thread t = running;
        if (t == null) return;
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
