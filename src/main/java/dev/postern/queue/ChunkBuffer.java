package dev.postern.queue;

import java.io.IOException;
import java.util.Arrays;

/**
 * A message's content gathered into chunks of at most {@code max} octets, as the spools store it: the buffer
 * starts small and grows to 16 KiB, then fourfold up to max, so a small message costs little, and each full chunk is handed
 * to the spool while the rest streams in. The spool uses a chunk before it returns; the buffer is reused.
 */
final class ChunkBuffer {
    interface Sink {
        void chunk(byte[] b, int len) throws IOException;
    }

    /** A message that outgrows a small start is likely not small: skip the steps below this. */
    private static final int FIRST_GROWTH = 16 * 1024;

    private final int max;
    private byte[] pending;
    private int used;

    ChunkBuffer(int initial, int max) {
        this.max = max;
        this.pending = new byte[Math.min(initial, max)];
    }

    void write(byte[] b, int off, int len, Sink full) throws IOException {
        while (len > 0) {
            if (used == pending.length) {
                if (pending.length < max) pending = Arrays.copyOf(pending, Math.min(max, Math.max(FIRST_GROWTH, pending.length * 4)));
                else flush(full);
            }
            int n = Math.min(len, pending.length - used);
            System.arraycopy(b, off, pending, used, n);
            used += n;
            off += n;
            len -= n;
        }
    }

    /** Hands on what has gathered (the last, partial chunk), if anything. */
    void flush(Sink sink) throws IOException {
        if (used == 0) return;
        sink.chunk(pending, used);
        used = 0;
    }

    /** What has gathered and not been handed on, copied. */
    byte[] rest() { return Arrays.copyOf(pending, used); }
}
