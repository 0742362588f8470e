package dev.postern.queue;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The envelope's text form: REQUIRETLS kept, and what this release cannot read refuses to start instead of being dropped. */
class EnvelopeCodecTest {
    @TempDir Path dir;

    private static Envelope envelope(boolean requireTls) {
        return new Envelope(new ReversePath(new Address("alice", "example.test")), List.of(new Recipient(new Address("bob", "remote.test"))),
                null, false, null, null, "client.test", "192.0.2.1", "alice@example.test", Instant.ofEpochMilli(1_796_000_000_000L), requireTls);
    }

    @Test void requireTlsSurvivesAndIsWrittenOnlyWhenSet() throws Exception {
        String with = EnvelopeCodec.encode("ID1", envelope(true));
        assertThat(with).contains("\nrequiretls true\n");
        assertThat(EnvelopeCodec.decode(with.lines().toList()).requireTls()).isTrue();
        String without = EnvelopeCodec.encode("ID2", envelope(false));
        assertThat(without).doesNotContain("requiretls"); // what releases before REQUIRETLS read
        assertThat(EnvelopeCodec.decode(without.lines().toList())).isEqualTo(envelope(false));
    }

    @Test void anUnknownKeyOrVersionIsRefusedNotSkipped() {
        List<String> newer = (EnvelopeCodec.encode("ID1", envelope(false)) + "priority high\n").lines().toList();
        assertThatThrownBy(() -> EnvelopeCodec.decode(newer)).isInstanceOf(EnvelopeCodec.UnknownFormat.class)
                .hasMessageContaining("\"priority\"");
        List<String> v2 = EnvelopeCodec.encode("ID1", envelope(false)).replace("POSTERN-QUEUE 1", "POSTERN-QUEUE 2").lines().toList();
        assertThatThrownBy(() -> EnvelopeCodec.decode(v2)).isInstanceOf(EnvelopeCodec.UnknownFormat.class).hasMessageContaining("POSTERN-QUEUE 2");
    }

    @Test void theFileSpoolRefusesToStartAndLeavesTheFile() throws Exception {
        Path q = dir.resolve("q");
        FileSpool spool = new FileSpool(q, Clock.systemUTC());
        Spool.Incoming in = spool.begin(envelope(false));
        byte[] b = "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        in.write(b, 0, b.length);
        in.commit();
        spool.close();
        Path file;
        try (var s = Files.walk(q)) {
            file = s.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().contains(".")).findFirst().orElseThrow();
        }
        Files.writeString(file, Files.readString(file, StandardCharsets.ISO_8859_1).replace("\nauth ", "\npriority high\nauth "),
                StandardCharsets.ISO_8859_1);
        FileSpool again = new FileSpool(q, Clock.systemUTC());
        assertThatThrownBy(again::recover).isInstanceOf(IOException.class).hasMessageContaining("refusing to start");
        assertThat(file).exists();
    }

    @Test void theLogSpoolRefusesToStartAndTruncatesNothing() throws Exception {
        Path q = dir.resolve("queue");
        Files.createDirectories(q.resolve("log"));
        byte[] text = (EnvelopeCodec.encode("ID1", envelope(false)) + "priority high\n").getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(8 + text.length).putLong(5).put(text);
        ByteBuffer out = ByteBuffer.allocate(64 * 1024);
        new LogRecord(LogRecord.Type.CHUNK, "ID1", "hello".getBytes(StandardCharsets.US_ASCII), 0, 5).encode(out);
        new LogRecord(LogRecord.Type.COMMIT, "ID1", body.array(), 0, body.capacity()).encode(out);
        out.flip();
        Path segment = LogWriter.segmentPath(q.resolve("log"), 1);
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        Files.write(segment, bytes);
        LogSpool spool = new LogSpool(q, Clock.systemUTC());
        assertThatThrownBy(spool::recover).isInstanceOf(IOException.class).hasMessageContaining("refusing to start")
                .hasMessageContaining("\"priority\"");
        assertThat(Files.readAllBytes(segment)).isEqualTo(bytes);
    }

    /** An intact record of a type this release does not know is a newer release's, never a torn tail to cut off. */
    @Test void aRecordOfAnUnknownTypeRefusesToStartAndTruncatesNothing() throws Exception {
        Path q = dir.resolve("queue2");
        Files.createDirectories(q.resolve("log"));
        ByteBuffer out = ByteBuffer.allocate(64 * 1024);
        new LogRecord(LogRecord.Type.CHUNK, "ID1", "hello".getBytes(StandardCharsets.US_ASCII), 0, 5).encode(out);
        // a record as a newer release might write it: type 99, whole, with its checksum
        byte[] id = "ID1".getBytes(StandardCharsets.US_ASCII), body = "future".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer rest = ByteBuffer.allocate(2 + id.length + body.length).put((byte) 99).put((byte) id.length).put(id).put(body);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(rest.array());
        out.putInt(rest.capacity()).putInt((int) crc.getValue()).put(rest.array());
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        Path segment = LogWriter.segmentPath(q.resolve("log"), 1);
        Files.write(segment, bytes);
        LogSpool spool = new LogSpool(q, Clock.systemUTC());
        assertThatThrownBy(spool::recover).isInstanceOf(IOException.class).hasMessageContaining("record type 99")
                .hasMessageContaining("written by a newer Postern");
        assertThat(Files.readAllBytes(segment)).as("not truncated").isEqualTo(bytes);
    }
}
