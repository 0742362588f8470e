package dev.postern.admin;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Log lines by queue id in one byte array allocated once, the newest overwriting the oldest. Keeping them
 * costs no object per line: a map of per-message lists of line objects (the trace until 2026-12-03) kept each
 * line for seconds under load, long enough to be promoted, then let it die in the old generation, and the
 * serial collector's full collections this caused stopped the server for ~100 ms every second or two at
 * 3,000+ messages/s — the tail of the acceptance latency. A look-up scans the ring (16 MiB: a few ms).
 *
 * <p>A record: total length (2 bytes; 0 means "continue at the array's start"), id length (1) and id (ASCII),
 * time (8, epoch ms), level (1), source length (1) and source (ASCII), then the text in UTF-8 to the end.
 * Records never wrap around the array's end. In memory only: nothing of this format reaches the disk.
 */
final class TraceRing {
    /** A line's text beyond this many bytes is cut (its record must fit in the 2-byte length). */
    static final int MAX_TEXT = 2048;
    private static final String[] LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    private static final int HEADER = 2 + 1 + 8 + 1 + 1;

    /** One line: when, level, which part of the server, and the text after the id. */
    record Event(Instant at, String level, String source, String text) {}

    private final byte[] ring;
    private long head; // bytes ever written: the next record starts at head % length
    private long tail; // where the oldest record still kept starts

    TraceRing(int capacity) {
        if (capacity < HEADER + 255 + 255 + MAX_TEXT * 2) throw new IllegalArgumentException("trace ring too small: " + capacity);
        ring = new byte[capacity];
    }

    /**
     * Keeps a line: line[0, idEnd) is the queue id (letters and digits), the text starts after ": ";
     * source[sourceFrom, ...) names the part of the server.
     */
    synchronized void add(String line, int idEnd, long millis, String level, String source, int sourceFrom) {
        int idLen = Math.min(idEnd, 255);
        int srcLen = Math.min(source.length() - sourceFrom, 255);
        int textFrom = Math.min(idEnd + 2, line.length());
        int textEnd = textFrom, textBytes = 0;
        while (textEnd < line.length()) { // UTF-8 length, cut at a whole character
            int n = utf8Length(line, textEnd);
            if (textBytes + n > MAX_TEXT) break;
            textBytes += n;
            textEnd += n == 4 ? 2 : 1;
        }
        int len = HEADER + idLen + srcLen + textBytes;
        int at = (int) (head % ring.length);
        long start = ring.length - at < len ? head + ring.length - at : head; // records never wrap: start over at 0
        long end = start + len;
        while (end - tail > ring.length && tail < head) { // the oldest records give way
            int t = (int) (tail % ring.length);
            int n = ring.length - t < 2 ? 0 : getShort(t);
            tail += n == 0 ? ring.length - t : n;
        }
        if (end - tail > ring.length) tail = start; // even the end marker below is overwritten
        if (start != head && ring.length - at >= 2) putShort(at, 0);
        int p = (int) (start % ring.length);
        putShort(p, len);
        p += 2;
        ring[p++] = (byte) idLen;
        for (int i = 0; i < idLen; i++) ring[p++] = (byte) line.charAt(i);
        for (int s = 56; s >= 0; s -= 8) ring[p++] = (byte) (millis >>> s);
        ring[p++] = (byte) levelIndex(level);
        ring[p++] = (byte) srcLen;
        for (int i = 0; i < srcLen; i++) ring[p++] = (byte) source.charAt(sourceFrom + i);
        for (int i = textFrom; i < textEnd; ) {
            char c = line.charAt(i);
            int n = utf8Length(line, i);
            if (n == 1) {
                ring[p++] = (byte) (c < 0x80 ? c : '?'); // a lone surrogate becomes '?', as String.getBytes does
            } else if (n == 2) {
                ring[p++] = (byte) (0xC0 | c >> 6);
                ring[p++] = (byte) (0x80 | c & 0x3F);
            } else if (n == 3) {
                ring[p++] = (byte) (0xE0 | c >> 12);
                ring[p++] = (byte) (0x80 | c >> 6 & 0x3F);
                ring[p++] = (byte) (0x80 | c & 0x3F);
            } else {
                int cp = Character.toCodePoint(c, line.charAt(i + 1));
                ring[p++] = (byte) (0xF0 | cp >> 18);
                ring[p++] = (byte) (0x80 | cp >> 12 & 0x3F);
                ring[p++] = (byte) (0x80 | cp >> 6 & 0x3F);
                ring[p++] = (byte) (0x80 | cp & 0x3F);
            }
            i += n == 4 ? 2 : 1;
        }
        head = end;
    }

    /** The lines kept for this id, oldest first, at most max of them. */
    synchronized List<Event> of(String id, int max) {
        List<Event> out = new ArrayList<>();
        byte[] want = id.getBytes(StandardCharsets.US_ASCII);
        for (long pos = tail; pos < head && out.size() < max; ) {
            int at = (int) (pos % ring.length);
            int len = ring.length - at < 2 ? 0 : getShort(at);
            if (len == 0) {
                pos += ring.length - at;
                continue;
            }
            if (matches(at + 3, ring[at + 2] & 0xFF, want)) out.add(decode(at, len));
            pos += len;
        }
        return out;
    }

    private boolean matches(int at, int idLen, byte[] want) {
        if (idLen != want.length) return false;
        for (int i = 0; i < idLen; i++) if (ring[at + i] != want[i]) return false;
        return true;
    }

    private Event decode(int at, int len) {
        int p = at + 2;
        int idLen = ring[p++] & 0xFF;
        p += idLen;
        long millis = 0;
        for (int i = 0; i < 8; i++) millis = millis << 8 | (ring[p++] & 0xFF);
        String level = LEVELS[ring[p++]];
        int srcLen = ring[p++] & 0xFF;
        String source = new String(ring, p, srcLen, StandardCharsets.US_ASCII);
        p += srcLen;
        String text = new String(ring, p, at + len - p, StandardCharsets.UTF_8);
        return new Event(Instant.ofEpochMilli(millis), level, source, text);
    }

    /** Bytes the character at i takes in UTF-8 (4 for a surrogate pair, counted at its first half; 1 for a lone one: '?'). */
    private static int utf8Length(String s, int i) {
        char c = s.charAt(i);
        if (c < 0x80) return 1;
        if (c < 0x800) return 2;
        if (!Character.isSurrogate(c)) return 3;
        return Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)) ? 4 : 1;
    }

    private static int levelIndex(String level) {
        for (int i = 0; i < LEVELS.length; i++) if (LEVELS[i].equals(level)) return i;
        return 2;
    }

    private void putShort(int at, int v) {
        ring[at] = (byte) (v >>> 8);
        ring[at + 1] = (byte) v;
    }

    private int getShort(int at) { return (ring[at] & 0xFF) << 8 | ring[at + 1] & 0xFF; }
}
