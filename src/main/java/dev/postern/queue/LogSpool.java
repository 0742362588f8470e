package dev.postern.queue;

import dev.postern.mail.Envelope;
import dev.postern.mail.QueueId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * The group-commit spool: every message, state change and removal is a record appended to a shared log
 * of segment files under {@code queue/log/}; one fsync makes all concurrently committed messages durable
 * (see {@link LogWriter}). A message exists once its COMMIT record is durable; content is read back from
 * its CHUNK records wherever they lie. A segment file is deleted when every message with a record in it
 * is finished and none of them still has a record in an older segment (so no REMOVE is ever lost while
 * the message it cancels survives). Recovery replays the log; a torn record at the tail is dropped, and
 * the zeros that follow the last record of a segment prepared ahead end it as the file's end would.
 */
public final class LogSpool implements Spool {
    private static final Logger log = LoggerFactory.getLogger(LogSpool.class);
    static final long DEFAULT_SEGMENT_SIZE = 64L << 20;

    private record Extent(long segment, long offset, int length) {}

    /** What the log says about one message. Guarded by the spool's lock. */
    private static final class Entry {
        final List<Extent> extents = new ArrayList<>();
        final SegmentNumbers segments = new SegmentNumbers();
        Envelope envelope;
        long size;
        List<String> state = List.of();
        boolean committed;
        boolean finished; // removed, aborted, or never committed (replayed); its entry is then forgotten
    }

    private final Path dir;
    private final Clock clock;
    private final long segmentSize;
    private final Map<String, Entry> entries = new HashMap<>();
    private final TreeMap<Long, Segment> segments = new TreeMap<>();
    private final Map<Long, FileChannel> readers = new HashMap<>();
    private LogWriter writer;

    public LogSpool(Path queueDir, Clock clock) throws IOException {
        this(queueDir, clock, DEFAULT_SEGMENT_SIZE);
    }

    LogSpool(Path queueDir, Clock clock, long segmentSize) throws IOException {
        this.dir = Files.createDirectories(queueDir.resolve("log"));
        this.clock = clock;
        this.segmentSize = segmentSize;
    }

    /**
     * One segment file: how many messages with a record in it are not finished (it can go only when none
     * is), and the older segments that its finished messages also have records in.
     */
    private static final class Segment {
        int unfinished;
        /**
         * Older segments holding records of messages finished here (their entries are gone): this segment
         * may hold their REMOVEs, so it goes only after those (else a restart would find the older records alone).
         */
        final SegmentNumbers reachedBack = new SegmentNumbers();
    }

    /**
     * A set of segment numbers, one or two almost always: the segments a message has records in, and a
     * segment's older segments (Segment.reachedBack). A HashSet of boxed Longs was twice the size.
     */
    static final class SegmentNumbers {
        private long[] numbers = new long[1];
        private int size;

        boolean add(long segment) {
            for (int i = 0; i < size; i++) if (numbers[i] == segment) return false;
            if (size == numbers.length) numbers = Arrays.copyOf(numbers, size * 2);
            numbers[size++] = segment;
            return true;
        }

        int size() { return size; }

        long get(int i) { return numbers[i]; }
    }

    private synchronized void note(String id, long segment) {
        Entry e = entries.computeIfAbsent(id, k -> new Entry());
        if (!e.segments.add(segment)) return;
        Segment s = segments.computeIfAbsent(segment, k -> new Segment());
        if (!e.finished) s.unfinished++;
    }

    /** Marks a message finished; true when one of its segments older than the active one has nothing live left. */
    private boolean markFinished(Entry e, long active) {
        if (e.finished) return false;
        e.finished = true;
        boolean freed = false;
        for (int i = 0; i < e.segments.size(); i++) {
            long seg = e.segments.get(i);
            Segment s = segments.get(seg);
            if (s != null && --s.unfinished == 0 && seg < active) freed = true;
        }
        return freed;
    }

    // ------------------------------------------------------------------ receiving

    @Override public Incoming begin(Envelope envelope) throws IOException {
        if (writer == null) throw new IOException("recover() must run before the log spool accepts mail");
        return new LogIncoming(QueueId.next(clock.millis()), envelope);
    }

    private final class LogIncoming implements Incoming {
        private final String id;
        private final Envelope envelope;
        private final List<CompletableFuture<List<LogWriter.Position>>> chunks = new ArrayList<>();
        private final List<Integer> chunkLengths = new ArrayList<>();
        // 2 KiB holds a typical short message and our Received field; larger ones grow it (see ChunkBuffer)
        private final ChunkBuffer content = new ChunkBuffer(2 * 1024, LogRecord.MAX_BODY);
        private long size;
        private byte[] prefix;
        private boolean held;
        private final long firstSegment;

        LogIncoming(String id, Envelope envelope) {
            this.id = id;
            this.envelope = envelope;
            this.firstSegment = writer.currentSegment();
        }

        @Override public String id() { return id; }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            size += len;
            content.write(b, off, len, this::appendChunk);
        }

        @Override public void hold() { held = true; }

        @Override public void prepend(byte[] fields) {
            if (prefix != null) throw new IllegalStateException("prepend called twice for " + id);
            prefix = fields.clone();
            size += prefix.length;
        }

        /** Content goes to the log as it arrives, without waiting for the disk; the commit waits for all of it. */
        private void appendChunk(byte[] b, int len) throws IOException {
            if (chunkFailed()) throw new SpoolFull("queue log write failed earlier", null);
            chunks.add(writer.append(List.of(LogRecord.of(LogRecord.Type.CHUNK, id, Arrays.copyOf(b, len))), false));
            chunkLengths.add(len);
        }

        @Override public QueuedMessage commit() throws IOException {
            try {
                return commitAsync().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while committing " + id);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
        }

        /** A chunk already failed to reach the log (a full disk): nothing more of this message is worth storing. */
        private boolean chunkFailed() {
            for (CompletableFuture<List<LogWriter.Position>> f : chunks) if (f.isCompletedExceptionally()) return true;
            return false;
        }

        @Override public CompletableFuture<QueuedMessage> commitAsync() {
            if (chunkFailed()) {
                abort();
                return CompletableFuture.failedFuture(new SpoolFull("queue log write failed earlier", null));
            }
            // what is still buffered (all of a small message) goes in the same append as the COMMIT: one
            // hand-off to the writer per message, not one per record
            List<LogRecord> records = new ArrayList<>();
            List<Integer> tailLengths = new ArrayList<>();
            boolean prefixed = prefix != null && prefix.length > 0;
            if (prefixed) {
                records.add(LogRecord.of(LogRecord.Type.PREFIX, id, prefix));
                tailLengths.add(prefix.length);
            }
            try {
                // not copied: this message's buffer takes no more content once it commits
                content.flush((b, len) -> {
                    records.add(new LogRecord(LogRecord.Type.CHUNK, id, b, 0, len));
                    tailLengths.add(len);
                });
            } catch (IOException e) {
                abort();
                return CompletableFuture.failedFuture(e);
            }
            int tail = records.size();
            byte[] env = EnvelopeCodec.encode(id, envelope).getBytes(StandardCharsets.UTF_8);
            ByteBuffer body = ByteBuffer.allocate(8 + env.length).putLong(size).put(env);
            QueuedMessage message = new QueuedMessage(id, envelope, envelope.recipients().stream().map(RecipientState::fresh).toList(), size, held);
            // an arrival hold is a STATE record in the same append as the COMMIT: durable together or not at all
            String state = held ? EnvelopeCodec.encodeState(message) : null;
            if (state != null) records.add(LogRecord.of(LogRecord.Type.STATE, id, state.getBytes(StandardCharsets.UTF_8)));
            // the COMMIT follows every CHUNK in the log, and its fsync covers them all
            records.add(LogRecord.of(LogRecord.Type.COMMIT, id, body.array()));
            CompletableFuture<List<LogWriter.Position>> done = writer.append(records, true);
            List<CompletableFuture<List<LogWriter.Position>>> all = new ArrayList<>(chunks);
            all.add(done);
            return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).handle((v, err) -> {
                if (err != null) {
                    abort();
                    Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
                    throw new java.util.concurrent.CompletionException(cause instanceof IOException ? cause : new IOException(cause));
                }
                List<Extent> extents = new ArrayList<>();
                List<LogWriter.Position> placed = done.join();
                int from = 0;
                if (prefixed) extents.add(extentOf(placed.get(from), tailLengths.get(from++)));
                for (int i = 0; i < chunks.size(); i++) extents.add(extentOf(chunks.get(i).join().get(0), chunkLengths.get(i)));
                for (; from < tail; from++) extents.add(extentOf(placed.get(from), tailLengths.get(from)));
                synchronized (LogSpool.this) {
                    Entry en = entries.computeIfAbsent(id, k -> new Entry());
                    en.extents.addAll(extents);
                    en.envelope = envelope;
                    en.size = size;
                    en.committed = true;
                    if (state != null) en.state = state.lines().toList();
                }
                // the log moved to a new segment meanwhile: older ones may hold nothing live any more
                if (writer.currentSegment() != firstSegment) CompletableFuture.runAsync(LogSpool.this::collectGarbage, GARBAGE);
                return message;
            });
        }

        private Extent extentOf(LogWriter.Position p, int length) {
            return new Extent(p.segment(), p.offset() + LogRecord.HEADER + 2 + id.length(), length);
        }

        @Override public void abort() {
            // the chunks stay in the log until their segment goes; recovery ignores content without a COMMIT
            CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> finish(id));
        }
    }

    // ------------------------------------------------------------------ after acceptance

    @Override public InputStream openContent(String id) throws IOException {
        List<Extent> extents;
        synchronized (this) {
            Entry e = entries.get(id);
            if (e == null || !e.committed) throw new IOException("no such message in the queue log: " + id);
            extents = List.copyOf(e.extents);
        }
        return new ExtentStream(extents);
    }

    @Override public void saveState(QueuedMessage message) throws IOException {
        await(saveStateAsync(message));
    }

    @Override public void remove(String id) throws IOException {
        await(removeAsync(id));
        collectGarbage();
    }

    /** Appended to the log without waiting: the group commit's fsync completes it. */
    @Override public CompletableFuture<Void> saveStateAsync(QueuedMessage message) {
        String text = EnvelopeCodec.encodeState(message);
        return writer.append(List.of(LogRecord.of(LogRecord.Type.STATE, message.id(), text.getBytes(StandardCharsets.UTF_8))), true)
                .thenAccept(p -> {
                    synchronized (this) {
                        Entry e = entries.get(message.id());
                        if (e != null) e.state = text.lines().toList();
                    }
                });
    }

    @Override public boolean writesMayBlock() {
        LogWriter w = writer;
        return w == null || w.congested();
    }

    /**
     * Written at once but not forced: the next commit's fsync carries it. A process that is killed loses
     * nothing written; only a power loss in those few milliseconds can bring the message back, and then it is
     * delivered again (SMTP is at-least-once; a Maildir delivery is not repeated, its file name is fixed).
     */
    @Override public CompletableFuture<Void> removeAsync(String id) {
        return writer.append(List.of(LogRecord.of(LogRecord.Type.REMOVE, id, new byte[0])), false).thenAccept(p -> finish(id));
    }

    /** Waits for a log write (for the blocking Spool methods); its IOException as thrown. */
    private static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    /**
     * Marks a message finished and deletes every segment that no longer holds anything live. Nothing more is
     * ever appended for it (after its REMOVE, or after every chunk of an aborted one was written), so its
     * entry goes too (forget): kept until its segments went, a delivered message's entry lived seconds to
     * minutes, was promoted, and died in the old generation (a segment's worth each time, ~45,000 of them).
     */
    private void finish(String id) {
        boolean freed;
        synchronized (this) {
            Entry e = entries.get(id);
            freed = e != null && markFinished(e, writer == null ? Long.MAX_VALUE : writer.currentSegment());
            if (e != null) forget(id, e);
        }
        // only a message whose last live neighbour in an older segment it was can free one; the deletion runs
        // off the thread that finished it (the log writer, for a removal)
        if (freed) CompletableFuture.runAsync(this::collectGarbage, GARBAGE);
    }

    /** One thread for segment deletion: it may wait on the file system, and the log writer must not. */
    private static final java.util.concurrent.Executor GARBAGE = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "queue-log-gc");
        t.setDaemon(true);
        return t;
    });

    /** Messages the spool keeps an entry for (tests: finished ones have none). */
    synchronized int entryCount() { return entries.size(); }

    /** Drops a finished message's entry; each of its segments keeps the older ones it must outlive. */
    private void forget(String id, Entry e) {
        for (int i = 0; i < e.segments.size(); i++) {
            Segment s = segments.get(e.segments.get(i));
            if (s == null) continue;
            for (int j = 0; j < e.segments.size(); j++) {
                if (e.segments.get(j) < e.segments.get(i)) s.reachedBack.add(e.segments.get(j));
            }
        }
        entries.remove(id);
    }

    /**
     * A finished message here still has a record in an older segment that is not going now (in {@code
     * going}): its REMOVE must outlive that one.
     */
    private boolean reachesBack(Segment s, List<Long> going) {
        for (int i = 0; i < s.reachedBack.size(); i++) {
            long older = s.reachedBack.get(i);
            if (segments.containsKey(older) && !going.contains(older)) return true;
        }
        return false;
    }

    private void collectGarbage() {
        List<Long> deletable = new ArrayList<>();
        synchronized (this) {
            long active = writer == null ? Long.MAX_VALUE : writer.currentSegment();
            for (Map.Entry<Long, Segment> s : segments.entrySet()) {
                long seg = s.getKey();
                if (seg >= active) break;
                // every message with a record here is finished, so none has an entry left to update
                if (s.getValue().unfinished > 0 || reachesBack(s.getValue(), deletable)) continue;
                deletable.add(seg);
            }
            deletable.forEach(segments::remove);
            for (long seg : deletable) {
                FileChannel r = readers.remove(seg);
                if (r != null) try { r.close(); } catch (IOException ignored) { /* deleting it anyway */ }
            }
        }
        for (long seg : deletable) {
            try {
                Files.deleteIfExists(LogWriter.segmentPath(dir, seg));
                log.debug("deleted finished queue log segment {}", seg);
            } catch (IOException ex) {
                log.warn("cannot delete queue log segment {}: {}", seg, ex.toString());
            }
        }
    }

    // ------------------------------------------------------------------ recovery

    @Override public synchronized List<QueuedMessage> recover() throws IOException {
        if (writer != null) throw new IllegalStateException("the queue log is recovered once, at start");
        List<Long> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d{12}\\.log"))
                    .map(n -> Long.parseLong(n.substring(0, 12))).sorted().toList();
        }
        try {
            for (int i = 0; i < files.size(); i++) replay(files.get(i), i == files.size() - 1);
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause(); // a record this release cannot read: nothing was changed on disk
        }
        List<QueuedMessage> out = new ArrayList<>();
        List<String> finished = new ArrayList<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry en = e.getValue();
            if (!en.committed || en.finished) {
                finished.add(e.getKey()); // partial messages and finished ones: only their segments matter now
                continue;
            }
            out.add(new QueuedMessage(e.getKey(), en.envelope, EnvelopeCodec.decodeState(en.state, en.envelope.recipients(), dir + " message " + e.getKey()),
                    en.size, EnvelopeCodec.decodeHeld(en.state)));
        }
        // counted once everything is replayed: a REMOVE finishes a message after its records were noted
        for (Segment seg : segments.values()) seg.unfinished = 0;
        for (Entry en : entries.values()) {
            if (!en.committed || en.finished) continue;
            for (int i = 0; i < en.segments.size(); i++) segments.get(en.segments.get(i)).unfinished++;
        }
        for (String id : finished) forget(id, entries.get(id));
        long next = files.isEmpty() ? 1 : files.get(files.size() - 1) + 1;
        // after a rotation, older segments may hold nothing live: look off the writer thread
        writer = new LogWriter(dir, next, segmentSize, this::note, () -> CompletableFuture.runAsync(this::collectGarbage, GARBAGE));
        collectGarbage();
        out.sort((a, b) -> a.envelope().arrival().compareTo(b.envelope().arrival()));
        return out;
    }

    private void replay(long segment, boolean last) throws IOException {
        Path file = LogWriter.segmentPath(dir, segment);
        segments.computeIfAbsent(segment, k -> new Segment());
        long validEnd;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            // read, not mmap: a mapping would keep the file busy until garbage collection
            ByteBuffer map = ByteBuffer.allocate((int) Math.min(size, Integer.MAX_VALUE - 8));
            while (map.hasRemaining() && ch.read(map, map.position()) > 0) { /* fill */ }
            map.flip();
            LogRecord r;
            try {
                while ((r = LogRecord.decode(map)) != null) apply(segment, map.position() - r.encodedLength(), r);
            } catch (LogRecord.UnknownType e) {
                throw new IOException("queue log " + file.getFileName() + ": " + e.getMessage()
                        + " was written by a newer Postern; upgrade, or restore from a backup (nothing was changed)");
            }
            validEnd = map.position();
            if (validEnd < size && zeros(map, (int) validEnd)) {
                // the rest of a segment prepared ahead (SegmentPreparer): no record was ever there. Not
                // forced: zeros found again after a crash end the log again
                ch.truncate(validEnd);
            } else if (validEnd < size) {
                if (last) {
                    // a torn append: the writer died mid-record; nothing after it was ever acknowledged
                    log.info("queue log {}: dropping {} bytes of incomplete record at the tail", file.getFileName(), size - validEnd);
                } else {
                    log.error("queue log {}: unreadable record at offset {}; the rest of this segment is ignored", file.getFileName(), validEnd);
                }
                ch.truncate(validEnd);
                ch.force(true);
            }
        }
    }

    /** True when every byte from start to the buffer's limit is zero. */
    static boolean zeros(ByteBuffer b, int start) {
        int i = start, end = b.limit();
        for (; i < end && (i & 7) != 0; i++) if (b.get(i) != 0) return false;
        for (; i + 8 <= end; i += 8) if (b.getLong(i) != 0) return false;
        for (; i < end; i++) if (b.get(i) != 0) return false;
        return true;
    }

    private void apply(long segment, long recordStart, LogRecord r) {
        String id = r.id();
        note(id, segment);
        Entry e = entries.get(id);
        switch (r.type()) {
            case CHUNK -> e.extents.add(new Extent(segment, recordStart + r.bodyStart(), r.bodyLength()));
            case PREFIX -> e.extents.add(0, new Extent(segment, recordStart + r.bodyStart(), r.bodyLength()));
            case COMMIT -> {
                ByteBuffer b = ByteBuffer.wrap(r.body());
                e.size = b.getLong();
                try {
                    e.envelope = EnvelopeCodec.decode(new String(r.body(), 8, r.body().length - 8, StandardCharsets.UTF_8).lines().toList());
                    e.committed = true;
                } catch (EnvelopeCodec.UnknownFormat ex) {
                    // written by a newer release: refuse to start rather than let its message be collected as garbage
                    throw new java.io.UncheckedIOException(new IOException("queue log segment " + segment + ": message " + id + ": "
                            + ex.getMessage() + "; refusing to start: run the release that wrote it", ex));
                } catch (IOException ex) {
                    log.error("{}: unreadable envelope in the queue log: {}", id, ex.toString());
                }
            }
            case STATE -> e.state = new String(r.body(), StandardCharsets.UTF_8).lines().toList();
            case REMOVE -> e.finished = true;
        }
    }

    /** Reads a message's content from its extents, segment by segment. */
    private final class ExtentStream extends InputStream {
        private final List<Extent> extents;
        private int index;
        private long done;

        ExtentStream(List<Extent> extents) { this.extents = extents; }

        @Override public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            while (index < extents.size() && done == extents.get(index).length()) {
                index++;
                done = 0;
            }
            if (index >= extents.size()) return -1;
            Extent e = extents.get(index);
            int n = (int) Math.min(len, e.length() - done);
            int got = reader(e.segment()).read(ByteBuffer.wrap(b, off, n), e.offset() + done);
            if (got < 0) throw new IOException("queue log segment " + e.segment() + " ends early");
            done += got;
            return got;
        }
    }

    private synchronized FileChannel reader(long segment) throws IOException {
        FileChannel c = readers.get(segment);
        if (c == null || !c.isOpen()) {
            c = FileChannel.open(LogWriter.segmentPath(dir, segment), StandardOpenOption.READ);
            readers.put(segment, c);
        }
        return c;
    }

    /** fsyncs and records made durable so far (the group-commit factor is records / fsyncs). */
    public long[] syncStats() { return writer == null ? new long[2] : writer.syncStats(); }

    /** Every segment up to the last record committed, copied at a moment the writer holds still. */
    @Override public void snapshot(Path target) throws IOException {
        Path out = Files.createDirectories(target.resolve("log"));
        try {
            writer.atQuietMoment(() -> {
                long current = writer.currentSegment();
                long currentLength = writer.writtenLength();
                List<Path> files;
                try (var s = Files.list(dir)) {
                    files = s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
                }
                for (Path p : files) {
                    long seg = Long.parseLong(p.getFileName().toString().replace(".log", ""));
                    if (seg > current) continue;
                    try (var in = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ);
                         var o = java.nio.channels.FileChannel.open(out.resolve(p.getFileName()), java.nio.file.StandardOpenOption.CREATE_NEW,
                                 java.nio.file.StandardOpenOption.WRITE)) {
                        long len = seg == current ? currentLength : in.size();
                        for (long done = 0; done < len; ) done += in.transferTo(done, len - done, o);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        // collected meanwhile: nothing live was left in it
                    }
                }
                return null;
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while copying the queue log");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    @Override public Map<String, Long> stats() {
        long[] s = syncStats();
        return Map.of("postern_queue_log_fsyncs_total", s[0], "postern_queue_log_records_synced_total", s[1]);
    }

    @Override public void close() {
        if (writer != null) writer.close();
        synchronized (this) {
            for (FileChannel c : readers.values()) try { c.close(); } catch (IOException ignored) { /* closing */ }
        }
    }
}
