package dev.postern.message;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Holds the header section of a message as it streams in (up to {@link #MAX_SIZE} octets), so the fields can
 * be read and some dropped before anything reaches the disk. The body is never held.
 */
public final class HeaderSection {
    /** Like Postfix's header_size_limit, with room for long DKIM and ARC fields. */
    public static final int MAX_SIZE = 256 * 1024;

    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(4096);
    private boolean complete;
    private boolean overflow;
    private int lineLength; // octets in the current line, not counting CR
    private List<HeaderField> fields;

    public boolean complete() { return complete; }

    /** True when the header section was too long to hold: it was passed on unread. */
    public boolean overflow() { return overflow; }

    /**
     * Takes octets until the header section ends (the empty line is part of it). Returns how many
     * octets of b were taken; the rest is body.
     */
    public int feed(byte[] b, int off, int len) {
        if (complete) return 0;
        int i = off;
        for (; i < off + len; i++) {
            byte c = b[i];
            if (c == '\n') {
                if (lineLength == 0) {
                    i++;
                    complete = true;
                    break;
                }
                lineLength = 0;
            } else if (c != '\r') {
                lineLength++;
            }
        }
        buffer.write(b, off, i - off);
        if (!complete && buffer.size() > MAX_SIZE) {
            complete = true;
            overflow = true;
        }
        return i - off;
    }

    /** Ends the message: a message without a body has only a header section. */
    public void end() { complete = true; }

    /** The raw octets held so far. */
    public byte[] raw() { return buffer.toByteArray(); }

    /** The header fields, top to bottom (empty after an overflow). */
    public List<HeaderField> fields() {
        if (fields == null) fields = overflow ? List.of() : parse(buffer.toString(StandardCharsets.ISO_8859_1));
        return fields;
    }

    /**
     * The header section without the fields called {@code name} that {@code drop} matches, ready for the disk.
     * When the name does not occur at all (the usual case) nothing is parsed.
     */
    public byte[] without(String name, Predicate<HeaderField> drop) {
        byte[] raw = raw();
        if (overflow || (fields == null && !mentions(raw, name.toLowerCase(java.util.Locale.ROOT)))) return raw;
        List<HeaderField> all = fields();
        Predicate<HeaderField> match = f -> f.is(name) && drop.test(f);
        if (all.stream().noneMatch(match)) return raw;
        StringBuilder out = new StringBuilder(buffer.size());
        int consumed = 0;
        for (HeaderField f : all) {
            consumed += f.raw().length();
            if (!match.test(f)) out.append(f.raw());
        }
        out.append(new String(raw, consumed, raw.length - consumed, StandardCharsets.ISO_8859_1)); // the empty line
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Whether the held octets contain this lower-case ASCII text, in any case: a cheap scan before parsing. */
    private static boolean mentions(byte[] b, String lower) {
        outer:
        for (int i = 0; i + lower.length() <= b.length; i++) {
            for (int j = 0; j < lower.length(); j++) {
                if (Character.toLowerCase((char) (b[i + j] & 0xff)) != lower.charAt(j)) continue outer;
            }
            return true;
        }
        return false;
    }

    /** Splits a header section into fields; continuation lines (starting with space or tab) join the field above. */
    public static List<HeaderField> parse(String text) {
        List<HeaderField> out = new ArrayList<>();
        StringBuilder current = null;
        int pos = 0;
        while (pos < text.length()) {
            int nl = text.indexOf('\n', pos);
            int end = nl < 0 ? text.length() : nl + 1;
            String line = text.substring(pos, end);
            if (line.equals("\r\n") || line.equals("\n")) break;
            boolean continuation = (line.startsWith(" ") || line.startsWith("\t")) && current != null;
            if (!continuation) {
                if (current != null) out.add(HeaderField.parse(current.toString()));
                current = new StringBuilder();
            }
            current.append(line);
            pos = end;
        }
        if (current != null) out.add(HeaderField.parse(current.toString()));
        return out;
    }
}
