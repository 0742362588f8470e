package dev.postern.message;

/**
 * Watches the start of a message as it streams and counts Received header fields in the header
 * section (everything before the first empty line). RFC 5321 6.3: a count above a limit means a loop.
 */
public final class HeaderScanner {
    private static final byte[] RECEIVED = "received:".getBytes();

    private boolean inBody;
    private boolean atLineStart = true;
    private int matched = -1; // position within "received:" while matching at a line start; -1 = not matching
    private int received;
    private boolean lineEmpty = true;

    public int receivedCount() { return received; }

    public void feed(byte[] b, int off, int len) {
        for (int i = off; i < off + len && !inBody; i++) {
            byte c = b[i];
            if (c == '\n') {
                if (lineEmpty) inBody = true;
                atLineStart = true;
                lineEmpty = true;
                matched = -1;
                continue;
            }
            if (c != '\r') lineEmpty = false;
            if (atLineStart) {
                atLineStart = false;
                matched = 0;
            }
            if (matched >= 0) {
                byte lower = (byte) Character.toLowerCase((char) (c & 0xff));
                if (lower == RECEIVED[matched]) {
                    if (++matched == RECEIVED.length) {
                        received++;
                        matched = -1;
                    }
                } else {
                    matched = -1;
                }
            }
        }
    }
}
