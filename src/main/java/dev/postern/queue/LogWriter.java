package dev.postern.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.function.BiConsumer;

/**
 * The single writer of the queue log, and the group commit. Appends from every session queue up here; the
 * writer thread writes whatever has accumulated in one go and, if any of it must be durable, calls
 * {@code force} once for all of it. Each waiting session is released only after the force that covers
 * its records, so one fsync acknowledges many messages.
 */
final class LogWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LogWriter.class);
    private static final int MAX_BATCH_BYTES = 4 << 20;

    /** Where a record landed: segment number and the byte offset of the record's start. */
    record Position(long segment, long offset) {}

    private record Append(List<LogRecord> records, boolean sync, CompletableFuture<List<Position>> done, int bytes, Runnable barrier) {
        Append(List<LogRecord> records, boolean sync, CompletableFuture<List<Position>> done, int bytes) {
            this(records, sync, done, bytes, null);
        }
    }

    private final Path dir;
    private final long segmentSize;
    private final BiConsumer<String, Long> placed;
    private final Runnable rotated;
    private final SegmentPreparer preparer;
    private final LinkedBlockingQueue<Append> queue = new LinkedBlockingQueue<>();
    private final Semaphore inFlightBytes = new Semaphore(64 << 20); // back-pressure on sessions
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long segment;
    private FileChannel channel;
    private long offset;
    private ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
    private long syncs;
    private long syncedRecords;

    /**
     * @param placed told (message id, segment) for every record as it is placed, before it is written, so
     *               the spool never deletes a segment that holds a record it has not heard of yet
     */
    LogWriter(Path dir, long firstSegment, long segmentSize, BiConsumer<String, Long> placed, Runnable rotated) throws IOException {
        this.dir = dir;
        this.segmentSize = segmentSize;
        this.placed = placed;
        this.rotated = rotated;
        this.preparer = new SegmentPreparer(dir, segmentSize);
        open(firstSegment);
        this.thread = new Thread(this::run, "queue-log-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    static Path segmentPath(Path dir, long segment) {
        return dir.resolve(String.format("%012d.log", segment));
    }

    long currentSegment() { return segment; }

    /** fsyncs and records made durable so far: records per fsync is the group-commit factor. */
    long[] syncStats() { return new long[] {syncs, syncedRecords}; }

    /** Queues records; the future completes when they are written (and forced to disk if sync). */
    /** True when appends may soon wait for room (the disk is behind by most of the in-flight allowance). */
    boolean congested() { return inFlightBytes.availablePermits() < 16 << 20; }

    CompletableFuture<List<Position>> append(List<LogRecord> records, boolean sync) {
        int bytes = 0;
        for (LogRecord r : records) bytes += r.encodedLength();
        CompletableFuture<List<Position>> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IOException("queue log is closed"));
            return f;
        }
        inFlightBytes.acquireUninterruptibly(Math.min(bytes, 64 << 20));
        queue.add(new Append(records, sync, f, Math.min(bytes, 64 << 20)));
        return f;
    }

    /**
     * Runs work on the writer thread once everything appended before it is written and forced, while later
     * appends wait: a consistent moment of the log (a backup copies the segments then).
     */
    CompletableFuture<Void> atQuietMoment(java.util.concurrent.Callable<Void> work) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        Runnable r = () -> {
            try {
                flushBuffer();
                channel.force(false);
                f.complete(work.call());
            } catch (Exception e) {
                f.completeExceptionally(e);
            }
        };
        queue.add(new Append(List.of(), false, new CompletableFuture<>(), 0, r));
        return f;
    }

    /** The length of the segment being written, everything appended so far included (writer thread). */
    long writtenLength() { return offset + buffer.position(); }

    private void run() {
        List<Append> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Append first = queue.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (first == null) continue;
                if (first.barrier() != null) {
                    first.barrier().run();
                    continue;
                }
                batch.add(first);
                int bytes = first.bytes();
                Append next;
                while (bytes < MAX_BATCH_BYTES && (next = queue.peek()) != null && next.barrier() == null) {
                    queue.poll();
                    batch.add(next);
                    bytes += next.bytes();
                }
                writeBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                for (Append a : batch) inFlightBytes.release(a.bytes());
                batch.clear();
            }
        }
    }

    private void writeBatch(List<Append> batch) {
        List<List<Position>> positions = new ArrayList<>();
        boolean sync = false;
        long startSegment = segment;
        long startOffset = offset;
        try {
            for (Append a : batch) {
                List<Position> ps = new ArrayList<>(a.records().size());
                for (LogRecord r : a.records()) ps.add(write(r));
                positions.add(ps);
                sync |= a.sync();
            }
            flushBuffer();
            if (sync) {
                channel.force(false); // fdatasync: the data and the file size, for everything in this batch
                syncs++;
                for (Append a : batch) syncedRecords += a.records().size();
            }
        } catch (IOException e) {
            IOException err = SpoolFull.classify(e);
            log.error("queue log write failed: {}", err.toString());
            undo(startSegment, startOffset, err instanceof SpoolFull);
            for (Append a : batch) a.done().completeExceptionally(err);
            return;
        }
        for (int i = 0; i < batch.size(); i++) batch.get(i).done().complete(positions.get(i));
    }

    /**
     * After a failed write (a full disk), cut the partial batch off again: a torn record in the middle of
     * the log would end recovery there and hide everything written after it.
     */
    private void undo(long startSegment, long startOffset, boolean diskFull) {
        buffer.clear();
        try {
            if (segment == startSegment) {
                channel.truncate(startOffset);
                offset = startOffset;
                // on a full disk, move on so the content of refused messages can be reclaimed with its segment
                if (!diskFull) return;
            }
        } catch (IOException e) {
            log.error("cannot cut back the queue log after a failed write: {}", e.toString());
        }
        try {
            rotate(); // the tail of this segment is unusable: continue in a fresh one
        } catch (IOException e) {
            log.error("cannot start a new queue log segment: {}", e.toString());
        }
    }

    private Position write(LogRecord r) throws IOException {
        int len = r.encodedLength();
        if (offset + buffer.position() + len > segmentSize && offset + buffer.position() > 0) rotate();
        if (buffer.remaining() < len) {
            flushBuffer();
            if (buffer.capacity() < len) buffer = ByteBuffer.allocateDirect(len);
        }
        Position p = new Position(segment, offset + buffer.position());
        placed.accept(r.id(), segment);
        r.encode(buffer);
        preparer.segmentReached(segment, offset + buffer.position());
        return p;
    }

    private void flushBuffer() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) offset += channel.write(buffer);
        buffer.clear();
    }

    /** A full segment is forced and closed; the next one is created and its directory entry made durable. */
    private void rotate() throws IOException {
        flushBuffer();
        channel.force(false);
        channel.close();
        open(segment + 1);
        rotated.run();
    }

    /** The next segment: the prepared file of zeros if one is ready (records overwrite it), else a new empty file. */
    private void open(long seg) throws IOException {
        Path path = segmentPath(dir, seg);
        channel = preparer.takeAs(path) ? FileChannel.open(path, StandardOpenOption.WRITE)
                : FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileSpool.fsyncDirectory(dir);
        segment = seg;
        offset = 0;
    }

    @Override public void close() {
        running = false;
        preparer.close();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            channel.force(false);
            channel.close();
        } catch (IOException e) {
            log.warn("closing queue log: {}", e.toString());
        }
    }
}
