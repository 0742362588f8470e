package dev.postern.smtp;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finding line ends in message content eight bytes at a time: every byte of a message passes here on the way
 * in (the DATA reader) and out (dot-stuffing), and a byte-by-byte loop was the event loops' largest single cost
 * for 50 KB messages.
 *
 * <p>A byte of {@code w ^ (b * ONES)} is zero where w holds b, and {@code (x - ONES) & ~x & HIGHS} flags zero
 * bytes; a borrow can flag a byte above a real zero but never one below it, so the lowest flag (the earliest
 * byte, read little-endian) is always a real match.
 */
public final class ByteScan {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L, HIGHS = 0x8080808080808080L;
    private static final long CRS = '\r' * ONES, LFS = '\n' * ONES;

    private ByteScan() {}

    /** The index of the first CR or LF in in[from, to), or to. */
    public static int crOrLf(byte[] in, int from, int to) {
        int p = from;
        for (; p + 8 <= to; p += 8) {
            long w = (long) LONGS.get(in, p);
            long found = zeros(w ^ CRS) | zeros(w ^ LFS);
            if (found != 0) return p + (Long.numberOfTrailingZeros(found) >>> 3);
        }
        while (p < to && in[p] != '\r' && in[p] != '\n') p++;
        return p;
    }

    /** The index of the first CR in in[from, to), or to. */
    public static int cr(byte[] in, int from, int to) {
        return first(in, from, to, (byte) '\r', CRS);
    }

    /** The index of the first LF in in[from, to), or to. */
    public static int lf(byte[] in, int from, int to) {
        return first(in, from, to, (byte) '\n', LFS);
    }

    /** The first b in in[from, to), or to; bs is b in every byte (a constant in each caller, once inlined). */
    private static int first(byte[] in, int from, int to, byte b, long bs) {
        int p = from;
        for (; p + 8 <= to; p += 8) {
            long found = zeros((long) LONGS.get(in, p) ^ bs);
            if (found != 0) return p + (Long.numberOfTrailingZeros(found) >>> 3);
        }
        while (p < to && in[p] != b) p++;
        return p;
    }

    private static long zeros(long x) {
        return (x - ONES) & ~x & HIGHS;
    }
}
