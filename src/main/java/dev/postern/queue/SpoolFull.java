package dev.postern.queue;

import java.io.IOException;

/** The spool's file system has no room: the receiver answers 452 4.3.1 rather than 451. */
public final class SpoolFull extends IOException {
    public SpoolFull(String message, Throwable cause) { super(message, cause); }

    static IOException classify(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (e instanceof SpoolFull) return e;
        if (m.contains("No space left") || m.contains("Disk quota exceeded")) return new SpoolFull(m, e);
        return e;
    }
}
