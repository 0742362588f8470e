package dev.postern.smtp;

/**
 * The DATA phase reader (RFC 5321 4.1.1.4, 4.5.2): removes dot-stuffing and finds the end of data.
 *
 * <p>Only {@code <CRLF>.<CRLF>} ends the data. A bare CR or bare LF anywhere is recorded in
 * {@link #sawBareNewline()} and never treated as a line start, so sequences like {@code <LF>.<LF>}
 * or {@code <CR>.<CR>} that other servers read as an end of data (SMTP smuggling) stay data here;
 * the caller rejects such messages (RFC 5321 2.3.8: CR and LF only as CRLF).
 */
public final class DataDecoder {

    private enum State { LINE_START, MID_LINE, CR, DOT, DOT_CR }

    private State state = State.LINE_START;
    private boolean bare;
    private boolean ended;

    public boolean sawBareNewline() { return bare; }
    public boolean ended() { return ended; }

    /**
     * Decodes input into {@code out} (which must have room for len + 2 bytes).
     * Returns the consumed count in the high 32 bits and the produced count in the low 32 bits;
     * stops right after the terminating {@code .<CRLF>} so that pipelined commands after it remain.
     */
    public long decode(byte[] in, int off, int len, byte[] out) {
        int o = 0;
        int i = 0;
        while (i < len && !ended) {
            if (state == State.MID_LINE) {
                // most of a message is line content: copy it whole, across every CRLF whose next line does not
                // start with a dot (those need no decoding), up to the first CR or LF that does
                int end = off + len, at = ByteScan.crOrLf(in, off + i, end);
                while (at + 2 < end && in[at] == '\r' && in[at + 1] == '\n' && in[at + 2] != '.') at = ByteScan.crOrLf(in, at + 2, end);
                int run = at - (off + i);
                if (run > 0) {
                    System.arraycopy(in, off + i, out, o, run);
                    i += run;
                    o += run;
                    continue;
                }
            }
            byte b = in[off + i++];
            switch (state) {
                case LINE_START -> {
                    if (b == '.') state = State.DOT; else o = midLine(b, out, o);
                }
                case DOT -> {
                    // RFC 5321 4.5.2: a leading dot on any other line is removed
                    if (b == '\r') state = State.DOT_CR; else o = midLine(b, out, o);
                }
                case DOT_CR -> {
                    if (b == '\n') {
                        ended = true;
                    } else {
                        bare = true; // ".<CR>x": a bare CR inside the line
                        out[o++] = '\r';
                        o = midLine(b, out, o);
                    }
                }
                case CR -> {
                    if (b == '\n') {
                        out[o++] = '\r';
                        out[o++] = '\n';
                        state = State.LINE_START;
                    } else {
                        bare = true;
                        out[o++] = '\r';
                        o = midLine(b, out, o);
                    }
                }
                case MID_LINE -> o = midLine(b, out, o);
            }
        }
        return ((long) i << 32) | o;
    }

    private int midLine(byte b, byte[] out, int o) {
        if (b == '\r') {
            state = State.CR;
            return o;
        }
        if (b == '\n') bare = true; // a bare LF never starts a new line here
        out[o++] = b;
        state = State.MID_LINE;
        return o;
    }
}
