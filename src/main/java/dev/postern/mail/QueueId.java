package dev.postern.mail;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Queue ids in the spirit of Postfix's long ids: time-ordered, unique across restarts, safe as file names.
 * Form: 8 base-32 digits of epoch milliseconds, 3 of a per-process counter, 3 random.
 */
public final class QueueId {
    private static final char[] DIGITS = "0123456789BCDFGHJKLMNPQRSTVWXYZb".toCharArray();
    private static final AtomicLong COUNTER = new AtomicLong(new SecureRandom().nextInt(1 << 15));
    private static final SecureRandom RANDOM = new SecureRandom();

    private QueueId() {}

    public static String next(long epochMillis) {
        StringBuilder sb = new StringBuilder(14);
        append(sb, epochMillis, 9);
        append(sb, COUNTER.getAndIncrement(), 3);
        append(sb, RANDOM.nextInt(1 << 10), 2);
        return sb.toString();
    }

    /** The per-process counter part of an id made by {@link #next}, or 0 for any other form. */
    public static long counterOf(String id) {
        if (id.length() != 14) return 0;
        long v = 0;
        for (int i = 9; i < 12; i++) {
            int d = new String(DIGITS).indexOf(id.charAt(i));
            if (d < 0) return 0;
            v = v << 5 | d;
        }
        return v;
    }

    private static void append(StringBuilder sb, long v, int digits) {
        for (int i = digits - 1; i >= 0; i--) sb.append(DIGITS[(int) ((v >>> (5 * i)) & 31)]);
    }

}
