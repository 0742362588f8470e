package dev.postern.queue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * One record of the queue log: {@code u32 length | u32 crc32c | u8 type | u8 idLength | id | body}, where
 * length counts everything after the crc and the crc covers the same bytes. A torn write at the tail fails
 * the length or the checksum and is dropped at recovery.
 */
record LogRecord(Type type, String id, byte[] body, int bodyOffset, int bodyLength) {

    enum Type {
        CHUNK(1),    // message content, in arrival order
        COMMIT(2),   // the message is complete: u64 content length, then the envelope text
        STATE(3),    // per-recipient state text, replacing earlier ones
        REMOVE(4),   // every recipient is final
        PREFIX(5);   // content that goes before all CHUNKs (fields added after the message was read)

        final byte code;

        Type(int code) { this.code = (byte) code; }

        static Type of(byte b) {
            for (Type t : values()) if (t.code == b) return t;
            return null;
        }
    }

    static final int HEADER = 8;
    /** Upper bound of one record; longer content is split into several CHUNKs. */
    static final int MAX_BODY = 256 * 1024;

    static LogRecord of(Type type, String id, byte[] body) {
        return new LogRecord(type, id, body, 0, body.length);
    }

    int encodedLength() {
        return HEADER + 2 + id.length() + bodyLength;
    }

    /** Offset of the body from the start of the encoded record (for CHUNK extents). */
    int bodyStart() {
        return HEADER + 2 + id.length();
    }

    /** An intact record of a type this release does not know (see {@link #decode}). */
    static final class UnknownType extends RuntimeException {
        final int code;
        final int offset;

        UnknownType(byte code, int offset) {
            super("record type " + (code & 0xff) + " at offset " + offset, null, false, false);
            this.code = code & 0xff;
            this.offset = offset;
        }
    }

    void encode(ByteBuffer out) {
        byte[] idBytes = id.getBytes(StandardCharsets.US_ASCII);
        int start = out.position();
        out.putInt(2 + idBytes.length + bodyLength);
        out.putInt(0); // crc, filled below
        out.put(type.code).put((byte) idBytes.length).put(idBytes).put(body, bodyOffset, bodyLength);
        CRC32C crc = new CRC32C();
        crc.update(out.duplicate().position(start + HEADER).limit(out.position()));
        out.putInt(start + 4, (int) crc.getValue());
    }

    /**
     * Decodes the record at the buffer's position, advancing past it; null when the bytes there are not a
     * whole, intact record (end of log, torn tail, or corruption).
     */
    static LogRecord decode(ByteBuffer in) {
        if (in.remaining() < HEADER + 2) return null;
        int start = in.position();
        int length = in.getInt(start);
        int crcValue = in.getInt(start + 4);
        if (length < 2 || length > MAX_BODY + 2 + 255 + 16 || in.remaining() < HEADER + length) return null;
        CRC32C crc = new CRC32C();
        crc.update(in.duplicate().position(start + HEADER).limit(start + HEADER + length));
        if ((int) crc.getValue() != crcValue) return null;
        Type type = Type.of(in.get(start + HEADER));
        int idLength = in.get(start + HEADER + 1) & 0xff;
        // intact (the checksum holds) but of a type this release does not know: written by a newer one. Never
        // taken for a torn tail, which would truncate the segment and the newer release's messages with it
        if (type == null) throw new UnknownType(in.get(start + HEADER), start);
        if (2 + idLength > length) return null;
        byte[] idBytes = new byte[idLength];
        in.get(start + HEADER + 2, idBytes);
        byte[] body = new byte[length - 2 - idLength];
        in.get(start + HEADER + 2 + idLength, body);
        in.position(start + HEADER + length);
        return new LogRecord(type, new String(idBytes, StandardCharsets.US_ASCII), body, 0, body.length);
    }
}
