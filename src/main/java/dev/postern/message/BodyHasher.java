package dev.postern.message;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Canonicalizes a message body as it streams (RFC 6376 3.4.3 simple, 3.4.4 relaxed) and hashes it,
 * up to an optional length limit (the l= tag). Trailing empty lines are held back until more content
 * shows they are not trailing.
 */
public final class BodyHasher {
    private final boolean relaxed;
    private final MessageDigest digest;
    private final long limit;
    private long hashed;
    private int pendingEmptyLines;
    private boolean emittedAny;
    private boolean sawCr;
    private boolean pendingSpace;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(128);

    /** algorithm: "SHA-256" or "SHA-1"; limit: -1 for the whole body. */
    public BodyHasher(boolean relaxed, String algorithm, long limit) {
        this.relaxed = relaxed;
        this.limit = limit;
        try {
            this.digest = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException(algorithm, e);
        }
    }

    public void update(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (sawCr) {
                sawCr = false;
                if (c == '\n') {
                    endLine();
                    continue;
                }
                append((byte) '\r');
            }
            if (c == '\r') {
                sawCr = true;
                continue;
            }
            append(c);
        }
    }

    private void append(byte c) {
        if (relaxed && (c == ' ' || c == '\t')) {
            pendingSpace = true; // RFC 6376 3.4.4: runs become one space, trailing ones vanish
            return;
        }
        if (pendingSpace) {
            line.write(' ');
            pendingSpace = false;
        }
        line.write(c);
    }

    private void endLine() {
        pendingSpace = false;
        if (line.size() == 0) {
            pendingEmptyLines++;
            return;
        }
        for (; pendingEmptyLines > 0; pendingEmptyLines--) emit(CRLF, 0, 2);
        emit(line.toByteArray(), 0, line.size());
        emit(CRLF, 0, 2);
        line.reset();
    }

    private static final byte[] CRLF = {'\r', '\n'};

    private void emit(byte[] b, int off, int len) {
        emittedAny = true;
        if (limit >= 0) len = (int) Math.min(len, Math.max(0, limit - hashed));
        digest.update(b, off, len);
        hashed += len;
    }

    private byte[] result;

    /**
     * Finishes the body; a last line without CRLF counts as if it had one. Calling it again returns the same
     * hash: a check that waited on the DNS runs again from the start (route.DnsReplay).
     */
    public byte[] finish() {
        if (result != null) return result.clone();
        if (sawCr) {
            sawCr = false;
            append((byte) '\r');
        }
        if (line.size() > 0 || pendingSpace) {
            pendingSpace = false;
            if (line.size() > 0) endLine();
        }
        // RFC 6376 3.4.3: an empty body is one CRLF under "simple"; 3.4.4: nothing under "relaxed"
        if (!emittedAny && !relaxed) emit(CRLF, 0, 2);
        result = digest.digest();
        return result.clone();
    }

    /** How many canonical body octets were hashed (for the l= a signer may report). */
    public long hashedLength() { return hashed; }
}
