package dev.postern.queue;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Watches a message's header section as it streams into the queue for "Precedence: bulk | list | junk"
 * (RFC 2076 3.9; RFC 3834 2 asks automatic responders to treat such mail as bulk too), without buffering
 * it: one pass over the header bytes, nothing kept but the field being read. The body is never looked at.
 */
final class PrecedenceSniffer {
    private static final byte[] NAME = "precedence:".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_VALUE = 64;

    private boolean headerDone;
    private boolean lineStart = true;
    private int matched;            // bytes of NAME matched at the start of this line; -1: this line is another field
    private StringBuilder value;    // the Precedence value being read (unfolded), or null
    private boolean bulk;

    void accept(byte[] b, int off, int len) {
        for (int i = off; i < off + len && !headerDone; i++) accept(b[i]);
    }

    private void accept(byte c) {
        if (lineStart) {
            lineStart = false;
            if (c == '\r' || c == '\n') { // the empty line: the header section ends (RFC 5322 2.1)
                finishValue();
                headerDone = true;
                return;
            }
            if (c == ' ' || c == '\t') { // folded continuation of the field before (RFC 5322 2.2.3)
                if (value != null) value.append(' ');
                matched = -1;
                return;
            }
            finishValue();
            matched = 0;
        }
        if (c == '\n') {
            lineStart = true;
            return;
        }
        if (value != null) {
            if (c != '\r' && value.length() < MAX_VALUE) value.append((char) (c & 0xff));
        } else if (matched >= 0) {
            if (Character.toLowerCase((char) (c & 0xff)) == NAME[matched]) {
                if (++matched == NAME.length) value = new StringBuilder();
            } else {
                matched = -1;
            }
        }
    }

    private void finishValue() {
        if (value == null) return;
        String v = value.toString().strip().toLowerCase(Locale.ROOT);
        value = null;
        if (v.equals("bulk") || v.equals("list") || v.equals("junk")) bulk = true;
    }

    /** Whether the header section has ended: nothing more to look at. */
    boolean done() { return headerDone; }

    /** True when the header said bulk, list or junk (call after the whole header section was seen, or at the end). */
    boolean bulk() {
        finishValue();
        return bulk;
    }
}
