package dev.postern.auth;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * MD5 (RFC 1321) whose chaining state can be exported after whole 64-byte blocks and resumed later.
 * The JDK's MessageDigest cannot do that, and CRAM-MD5 needs it: we store HMAC-MD5's inner and outer
 * pad states instead of a password (RFC 2195 6 notes the secret must otherwise be kept in the clear).
 */
final class Md5 {
    private static final int[] S = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
    private static final int[] K = new int[64];

    static {
        for (int i = 0; i < 64; i++) K[i] = (int) (long) Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296.0);
    }

    static int[] initialState() {
        return new int[] {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    }

    /** Runs the compression function over one 64-byte block. */
    static void compress(int[] h, byte[] block, int off) {
        int[] m = new int[16];
        ByteBuffer bb = ByteBuffer.wrap(block, off, 64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) m[i] = bb.getInt();
        int a = h[0], b = h[1], c = h[2], d = h[3];
        for (int i = 0; i < 64; i++) {
            int f, g;
            if (i < 16) { f = (b & c) | (~b & d); g = i; }
            else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
            else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
            else { f = c ^ (b | ~d); g = (7 * i) & 15; }
            int t = d;
            d = c;
            c = b;
            b = b + Integer.rotateLeft(a + f + K[i] + m[g], S[(i >> 4) * 4 + (i & 3)]);
            a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    }

    /** Finishes a digest of {@code data} on top of a state that has already consumed {@code priorBytes}. */
    static byte[] finish(int[] state, long priorBytes, byte[] data) {
        int[] h = state.clone();
        long total = priorBytes + data.length;
        int padded = ((data.length + 8) / 64 + 1) * 64;
        byte[] buf = new byte[padded];
        System.arraycopy(data, 0, buf, 0, data.length);
        buf[data.length] = (byte) 0x80;
        ByteBuffer.wrap(buf, padded - 8, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(total * 8);
        for (int off = 0; off < padded; off += 64) compress(h, buf, off);
        ByteBuffer out = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : h) out.putInt(v);
        return out.array();
    }
}
