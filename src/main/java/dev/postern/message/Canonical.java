package dev.postern.message;

import java.util.Locale;

/** RFC 6376 3.4: header canonicalization, "simple" and "relaxed". */
public final class Canonical {
    private Canonical() {}

    public static String header(HeaderField f, boolean relaxed) {
        return relaxed ? relaxedHeader(f.raw()) : f.raw();
    }

    /** RFC 6376 3.4.2: lower-case name, unfold, white space runs to one space, none around the colon or at the end. */
    static String relaxedHeader(String raw) {
        int colon = raw.indexOf(':');
        if (colon < 0) return raw;
        String name = raw.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String value = raw.substring(colon + 1).replace("\r\n", "");
        StringBuilder v = new StringBuilder(value.length());
        boolean space = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                space = true;
                continue;
            }
            if (space && v.length() > 0) v.append(' ');
            space = false;
            v.append(c);
        }
        return name + ":" + v + "\r\n";
    }
}
