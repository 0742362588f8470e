package dev.postern.message;

import java.util.Locale;

/**
 * One header field as received: its name and the whole raw field, folded lines and final CRLF included.
 * Text is ISO-8859-1 decoded so every octet survives a round trip.
 */
public record HeaderField(String name, String raw) {

    public static HeaderField parse(String raw) {
        int colon = raw.indexOf(':');
        String name = colon < 0 ? raw.strip() : raw.substring(0, colon).strip();
        return new HeaderField(name, raw);
    }

    public boolean is(String other) { return name.equalsIgnoreCase(other); }

    public String lowerName() { return name.toLowerCase(Locale.ROOT); }

    /** The value after the colon, unfolded (CRLF before white space removed), without the final CRLF. */
    public String value() {
        int colon = raw.indexOf(':');
        String v = colon < 0 ? "" : raw.substring(colon + 1);
        if (v.endsWith("\r\n")) v = v.substring(0, v.length() - 2);
        return v.replace("\r\n", "");
    }
}
