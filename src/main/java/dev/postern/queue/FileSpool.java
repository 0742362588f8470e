package dev.postern.queue;

import dev.postern.mail.Envelope;
import dev.postern.store.StateFiles;
import dev.postern.mail.QueueId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * One file per message, Postfix style. Layout under the queue directory:
 * <pre>
 *   incoming/ID   being received: never read back, deleted at start
 *   active/ID     committed: envelope header, blank line, message content
 *   active/ID.state  per-recipient state, replaced atomically (temp, fsync, rename)
 * </pre>
 */
public final class FileSpool implements Spool {
    private static final Logger log = LoggerFactory.getLogger(FileSpool.class);

    private final Path incoming;
    private final Path active;
    private final Clock clock;

    public FileSpool(Path queueDir, Clock clock) throws IOException {
        this.incoming = Files.createDirectories(queueDir.resolve("incoming"));
        this.active = Files.createDirectories(queueDir.resolve("active"));
        this.clock = clock;
    }

    @Override public Incoming begin(Envelope envelope) throws IOException {
        String id = QueueId.next(clock.millis());
        return new FileIncoming(id, envelope);
    }

    private final class FileIncoming implements Incoming {
        private final String id;
        private final Envelope envelope;
        private final Path tmp;
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        private long size;
        private byte[] prefix;
        private boolean held;

        FileIncoming(String id, Envelope envelope) throws IOException {
            this.id = id;
            this.envelope = envelope;
            this.tmp = incoming.resolve(id);
            try {
                this.channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                put(EnvelopeCodec.encode(id, envelope).getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                abort();
                throw SpoolFull.classify(e);
            }
        }

        @Override public String id() { return id; }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            size += len;
            try {
                put(b, off, len);
            } catch (IOException e) {
                throw SpoolFull.classify(e);
            }
        }

        @Override public void hold() { held = true; }

        @Override public void prepend(byte[] fields) {
            if (prefix != null) throw new IllegalStateException("prepend called twice for " + id);
            prefix = fields.clone();
            size += prefix.length;
        }

        private void put(byte[] b) throws IOException {
            put(b, 0, b.length);
        }

        private void put(byte[] b, int off, int len) throws IOException {
            int end = off + len;
            while (off < end) {
                int n = Math.min(buffer.remaining(), end - off);
                buffer.put(b, off, n);
                off += n;
                if (!buffer.hasRemaining()) flush();
            }
        }

        private void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) channel.write(buffer);
            buffer.clear();
        }

        /** The commit sequence. Each step must finish before the next; the order is the promise. */
        @Override public QueuedMessage commit() throws IOException {
            try {
                flush();
                channel.force(true);          // 1. data and envelope reach the disk
                channel.close();
                if (prefix != null && prefix.length > 0) {
                    // the prefix file lands before the message: a message never appears without it
                    StateFiles.replace(incoming.resolve(id + ".prefix"), prefix, active.resolve(id + ".prefix"));
                }
                if (held) {
                    // likewise the hold: the message never appears without it
                    StateFiles.replace(incoming.resolve(id + ".state"), EnvelopeCodec.encodeState(message()).getBytes(StandardCharsets.UTF_8),
                            active.resolve(id + ".state"));
                }
                Path target = active.resolve(id);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE); // 2. appear whole, or not at all
                fsyncDirectory(active);       // 3. the new directory entry itself is durable
            } catch (IOException e) {
                abort();
                throw SpoolFull.classify(e);
            }
            return message();
        }

        private QueuedMessage message() {
            List<RecipientState> states = envelope.recipients().stream().map(RecipientState::fresh).toList();
            return new QueuedMessage(id, envelope, states, size, held);
        }

        @Override public void abort() {
            try {
                if (channel != null) channel.close();
            } catch (IOException ignored) {
                // closing a file we are about to delete
            }
            try {
                Files.deleteIfExists(tmp);
                Files.deleteIfExists(incoming.resolve(id + ".prefix"));
                Files.deleteIfExists(active.resolve(id + ".prefix"));
                Files.deleteIfExists(incoming.resolve(id + ".state"));
                Files.deleteIfExists(active.resolve(id + ".state"));
            } catch (IOException e) {
                log.warn("{}: cannot remove partial message {}: {}", id, tmp, e.toString());
            }
        }
    }

    @Override public List<QueuedMessage> recover() throws IOException {
        try (DirectoryStream<Path> partials = Files.newDirectoryStream(incoming)) {
            for (Path p : partials) {
                log.info("{}: discarding partially received message", p.getFileName());
                Files.delete(p);
            }
        }
        List<QueuedMessage> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(active)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    Files.delete(p); // an unfinished state update; the previous state file stands
                    continue;
                }
                String base = name.endsWith(".prefix") || name.endsWith(".state") ? name.substring(0, name.lastIndexOf('.')) : null;
                if (base != null && !Files.exists(active.resolve(base))) {
                    Files.delete(p); // its message never arrived (a crash between the renames), or was removed
                    continue;
                }
                if (name.contains(".")) continue;
                try {
                    out.add(read(name));
                } catch (EnvelopeCodec.UnknownFormat e) {
                    throw new IOException("queue file " + name + ": " + e.getMessage() + "; refusing to start: run the release that wrote it", e);
                } catch (IOException | RuntimeException e) {
                    log.error("{}: unreadable queue file, left in place: {}", name, e.toString());
                }
            }
        }
        out.sort((a, b) -> a.envelope().arrival().compareTo(b.envelope().arrival()));
        return out;
    }

    private QueuedMessage read(String id) throws IOException {
        Path file = active.resolve(id);
        List<String> header = new ArrayList<>();
        long headerBytes;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            headerBytes = readHeader(in, header);
        }
        Envelope env = EnvelopeCodec.decode(header);
        Path state = active.resolve(id + ".state");
        List<String> stateLines = Files.exists(state) ? Files.readAllLines(state, StandardCharsets.UTF_8) : List.of();
        Path pre = active.resolve(id + ".prefix");
        long prefixBytes = Files.exists(pre) ? Files.size(pre) : 0;
        return new QueuedMessage(id, env, EnvelopeCodec.decodeState(stateLines, env.recipients(), state.toString()),
                Files.size(file) - headerBytes + prefixBytes, EnvelopeCodec.decodeHeld(stateLines));
    }

    /** Reads envelope lines up to the blank line; returns how many bytes the header took. */
    private static long readHeader(InputStream in, List<String> lines) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long n = 0;
        int b;
        while ((b = in.read()) >= 0) {
            n++;
            if (b != '\n') {
                line.write(b);
                continue;
            }
            if (line.size() == 0) return n;
            lines.add(line.toString(StandardCharsets.UTF_8));
            line.reset();
        }
        throw new IOException("queue file ends inside the envelope");
    }

    /** The committed messages and their state files; each is replaced whole, so a copy is old or new, never torn. */
    @Override public void snapshot(Path target) throws IOException {
        Path out = Files.createDirectories(target.resolve("active"));
        List<Path> files;
        try (var s = Files.list(active)) {
            files = s.filter(p -> !p.getFileName().toString().endsWith(".tmp")).sorted().toList();
        }
        for (Path p : files) {
            try {
                Files.copy(p, out.resolve(p.getFileName()));
            } catch (java.nio.file.NoSuchFileException gone) {
                // delivered and removed meanwhile
            }
        }
    }

    @Override public InputStream openContent(String id) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(active.resolve(id)), 64 * 1024);
        readHeader(in, new ArrayList<>());
        Path pre = active.resolve(id + ".prefix");
        if (!Files.exists(pre)) return in;
        return new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(Files.readAllBytes(pre)), in);
    }

    @Override public void saveState(QueuedMessage message) throws IOException {
        StateFiles.replace(active.resolve(message.id() + ".state.tmp"),
                EnvelopeCodec.encodeState(message).getBytes(StandardCharsets.UTF_8), active.resolve(message.id() + ".state"));
        fsyncDirectory(active);
    }


    @Override public void remove(String id) throws IOException {
        // the message file goes first: a state file without its message is ignored at recovery
        try {
            Files.delete(active.resolve(id));
        } catch (NoSuchFileException ignored) {
            // already gone
        }
        Files.deleteIfExists(active.resolve(id + ".state"));
        Files.deleteIfExists(active.resolve(id + ".prefix"));
        fsyncDirectory(active);
    }

    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
