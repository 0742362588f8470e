package dev.postern.smtp;

import java.nio.charset.StandardCharsets;

/**
 * Splits command-mode input into lines. Only CRLF is a proper line end (RFC 5321 2.3.8); a bare LF
 * also ends the line so that a client is never left hanging, but the line is flagged and must be
 * refused rather than obeyed. Lines longer than {@code hardLimit} are discarded up to their end and
 * reported as too long; callers apply the 512-octet command limit (RFC 5321 4.5.3.1.4) themselves,
 * since AUTH exchanges may be longer (RFC 4954 4).
 */
public final class LineSplitter {

    /** One line without its terminator. length counts the octets including the terminator. */
    public record Line(String text, int length, boolean bareNewline, boolean tooLong) {}

    private final int hardLimit;
    private byte[] buf = new byte[128]; // grows to hardLimit only for long lines: idle sessions stay small
    private int used;
    private boolean discarding;
    private int discardedLength;

    public LineSplitter(int hardLimit) {
        this.hardLimit = hardLimit;
    }

    /**
     * Feeds bytes until one line is complete. Returns the number of bytes consumed; {@link #take()}
     * then returns the line, or null if more input is needed.
     */
    public int feed(byte[] in, int off, int len) {
        for (int i = 0; i < len; i++) {
            byte b = in[off + i];
            if (b == '\n') {
                complete = finish();
                return i + 1;
            }
            if (discarding) {
                discardedLength++;
            } else if (used == hardLimit) {
                discarding = true;
                discardedLength = used + 1;
            } else {
                if (used == buf.length) buf = java.util.Arrays.copyOf(buf, Math.min(hardLimit, buf.length * 2));
                buf[used++] = b;
            }
        }
        return len;
    }

    private Line complete;

    public Line take() {
        Line l = complete;
        complete = null;
        return l;
    }

    /** Bytes held for an incomplete line; useful for the caller's own bookkeeping. */
    public int pending() { return discarding ? discardedLength : used; }

    private Line finish() {
        if (discarding) {
            Line l = new Line("", discardedLength + 1, false, true);
            discarding = false;
            used = 0;
            return l;
        }
        boolean crlf = used > 0 && buf[used - 1] == '\r';
        int end = crlf ? used - 1 : used;
        boolean bare = !crlf;
        for (int i = 0; i < end && !bare; i++) if (buf[i] == '\r') bare = true;
        String text = new String(buf, 0, end, StandardCharsets.UTF_8);
        Line l = new Line(text, used + 1, bare, false);
        used = 0;
        if (buf.length > 1024) buf = new byte[128];
        return l;
    }
}
