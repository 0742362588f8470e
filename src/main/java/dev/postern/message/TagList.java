package dev.postern.message;

import java.util.LinkedHashMap;
import java.util.Map;

/** RFC 6376 3.2 tag=value lists, as in DKIM-Signature and key records. */
public final class TagList {
    private TagList() {}

    /** Parses the list; null when malformed or a tag repeats (RFC 6376 3.2: duplicates are an error). */
    public static Map<String, String> parse(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String part : text.split(";", -1)) {
            String p = part.strip();
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            if (eq <= 0) return null;
            String name = p.substring(0, eq).strip();
            if (!name.matches("[A-Za-z][A-Za-z0-9_]*")) return null;
            String value = p.substring(eq + 1).replaceAll("[ \t\r\n]+", " ").strip();
            if (out.put(name, value) != null) return null;
        }
        return out;
    }
}
