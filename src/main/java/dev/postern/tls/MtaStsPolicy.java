package dev.postern.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An MTA-STS policy (RFC 8461 3.2): version STSv1, mode, the MX patterns and max_age. Parsed strictly: a
 * missing or malformed required field makes the whole policy invalid; unknown fields are ignored, as the
 * RFC asks.
 */
public record MtaStsPolicy(Mode mode, List<String> mx, long maxAgeSeconds) {
    public enum Mode { ENFORCE, TESTING, NONE }

    /** RFC 8461 3.2: max_age is at most 31557600 seconds (about a year). */
    static final long MAX_AGE_LIMIT = 31_557_600L;

    /** The policy in this text, or throws IllegalArgumentException saying what is wrong. */
    public static MtaStsPolicy parse(String text) {
        String version = null, mode = null, maxAge = null;
        List<String> mx = new ArrayList<>();
        for (String raw : text.split("\n", -1)) {
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (line.isEmpty()) continue;
            int colon = line.indexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("not a \"key: value\" line: " + line);
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "version" -> version = once(key, version, value);
                case "mode" -> mode = once(key, mode, value);
                case "max_age" -> maxAge = once(key, maxAge, value);
                case "mx" -> mx.add(value.toLowerCase(Locale.ROOT));
                default -> { } // RFC 8461 3.2: unknown fields are ignored
            }
        }
        if (!"STSv1".equals(version)) throw new IllegalArgumentException("version must be STSv1, got " + version);
        Mode m;
        try {
            m = Mode.valueOf(String.valueOf(mode).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mode must be enforce, testing or none, got " + mode);
        }
        if (!m.name().toLowerCase(Locale.ROOT).equals(mode)) throw new IllegalArgumentException("mode is case-sensitive, got " + mode);
        if (maxAge == null || !maxAge.matches("\\d{1,10}") || Long.parseLong(maxAge) > MAX_AGE_LIMIT) {
            throw new IllegalArgumentException("max_age must be 0.." + MAX_AGE_LIMIT + ", got " + maxAge);
        }
        if (m != Mode.NONE && mx.isEmpty()) throw new IllegalArgumentException("mode " + mode + " needs at least one mx");
        for (String p : mx) {
            String host = p.startsWith("*.") ? p.substring(2) : p;
            if (!host.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")) {
                throw new IllegalArgumentException("not an MX pattern: " + p);
            }
        }
        return new MtaStsPolicy(m, List.copyOf(mx), Long.parseLong(maxAge));
    }

    /** The policy in its file form (normalized: the fields RFC 8461 defines, in order), for TLS reports. */
    public String text() {
        StringBuilder sb = new StringBuilder("version: STSv1\nmode: ").append(mode.name().toLowerCase(Locale.ROOT)).append('\n');
        for (String m : mx) sb.append("mx: ").append(m).append('\n');
        return sb.append("max_age: ").append(maxAgeSeconds).append('\n').toString();
    }

    private static String once(String key, String seen, String value) {
        if (seen != null) throw new IllegalArgumentException(key + " given twice");
        return value;
    }

    /** RFC 8461 4.1: an MX host matches a pattern exactly, or "*.example.com" for exactly one label more. */
    public boolean allows(String mxHost) {
        String h = mxHost.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        for (String p : mx) {
            if (p.equals(h)) return true;
            if (p.startsWith("*.")) {
                int dot = h.indexOf('.');
                if (dot > 0 && h.substring(dot + 1).equals(p.substring(2))) return true;
            }
        }
        return false;
    }
}
