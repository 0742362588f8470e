package dev.postern.filter;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A message as milters see and change it: the header fields in order (name, and the raw text after the
 * colon, folding CRLFs included) and a body that can be opened any number of times.
 */
public final class FilteredMessage {
    /** One header field: its name and everything after the colon up to, not including, the final CRLF. */
    public record Field(String name, String value) {
        /** The value as milters receive it (Postfix's way): the first space after the colon dropped, folds as LF. */
        String forMilter(boolean leadingSpace) {
            String v = value.replace("\r\n", "\n");
            return !leadingSpace && v.startsWith(" ") ? v.substring(1) : v;
        }

        static Field fromMilter(String name, String value) {
            String v = value.replace("\r\n", "\n").replace("\n", "\r\n");
            return new Field(name, v.startsWith(" ") || v.startsWith("\t") || v.isEmpty() ? v : " " + v);
        }

        byte[] bytes() { return (name + ":" + value + "\r\n").getBytes(StandardCharsets.UTF_8); }
    }

    /** The body, re-openable: the received copy, or a replacement from a milter. */
    public interface Body {
        InputStream open() throws IOException;
    }

    private final List<Field> fields;
    private Body body;
    private boolean modified;

    /** Whether a milter changed a header field or the body. */
    public boolean modified() { return modified; }

    public FilteredMessage(List<Field> fields, Body body) {
        this.fields = new ArrayList<>(fields);
        this.body = body;
    }

    public List<Field> fields() { return List.copyOf(fields); }

    public Body body() { return body; }

    /**
     * A stored message (opened as often as needed): its header fields read now, its body read from the stored
     * copy each time a milter asks for it.
     */
    public static FilteredMessage read(Body stored) throws IOException {
        List<Field> fields;
        long bodyStart;
        try (Counting in = new Counting(stored.open())) {
            fields = readHeader(in);
            bodyStart = in.count;
        }
        return new FilteredMessage(fields, () -> {
            InputStream in = new java.io.BufferedInputStream(stored.open(), 64 * 1024);
            in.skipNBytes(bodyStart);
            return in;
        });
    }

    private static final class Counting extends java.io.FilterInputStream {
        long count;

        Counting(InputStream in) { super(new java.io.BufferedInputStream(in)); }

        @Override public int read() throws IOException {
            int c = super.read();
            if (c >= 0) count++;
            return c;
        }
    }

    /**
     * Reads a message (CRLF line ends) into header fields, leaving the stream at the first byte of the body;
     * a message without a blank line is all header.
     */
    public static List<Field> readHeader(InputStream in) throws IOException {
        List<Field> out = new ArrayList<>();
        StringBuilder current = null;
        while (true) {
            String line = readLine(in);
            if (line == null || line.isEmpty()) break;
            if ((line.startsWith(" ") || line.startsWith("\t")) && current != null) {
                current.append("\r\n").append(line);
                continue;
            }
            if (current != null) out.add(split(current.toString()));
            current = new StringBuilder(line);
        }
        if (current != null) out.add(split(current.toString()));
        return out;
    }

    private static Field split(String raw) {
        int colon = raw.indexOf(':');
        return colon < 0 ? new Field(raw, "") : new Field(raw.substring(0, colon), raw.substring(colon + 1));
    }

    /** One line without its CRLF (a bare LF also ends it), or null at the end. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                byte[] a = b.toByteArray();
                int n = a.length > 0 && a[a.length - 1] == '\r' ? a.length - 1 : a.length;
                return new String(a, 0, n, StandardCharsets.UTF_8);
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
    }

    // ---- the modifications of SMFIR_ADDHEADER, INSHEADER, CHGHEADER and REPLBODY

    void addField(String name, String value) {
        fields.add(Field.fromMilter(name, value));
        modified = true;
    }

    /** index: 0 puts it first (libmilter's smfi_insheader). */
    void insertField(int index, String name, String value) {
        fields.add(Math.max(0, Math.min(index, fields.size())), Field.fromMilter(name, value));
        modified = true;
    }

    /** The index-th (from 1) field of that name changed, or deleted when value is empty; added when there is no such field. */
    void changeField(int index, String name, String value) {
        int seen = 0;
        for (int i = 0; i < fields.size(); i++) {
            if (!fields.get(i).name().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) continue;
            if (++seen < Math.max(1, index)) continue;
            if (value.isEmpty()) fields.remove(i);
            else fields.set(i, Field.fromMilter(fields.get(i).name(), value));
            modified = true;
            return;
        }
        if (!value.isEmpty()) addField(name, value);
    }

    void replaceBody(byte[] replacement) {
        byte[] copy = replacement.clone();
        body = () -> new ByteArrayInputStream(copy);
        modified = true;
    }

    /** The header section as bytes, the blank line included. */
    public byte[] headerBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Field f : fields) out.writeBytes(f.bytes());
        out.writeBytes(new byte[] {'\r', '\n'});
        return out.toByteArray();
    }
}
