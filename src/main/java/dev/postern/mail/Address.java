package dev.postern.mail;

import java.util.Locale;

/**
 * A mailbox: local part and domain, as RFC 5321 4.1.2 "Mailbox" defines it. The local part is kept
 * exactly as sent (case-preserving, RFC 5321 2.4) but without quotes; the domain is lower-cased.
 */
public record Address(String localPart, String domain) {

    public Address {
        if (localPart.isEmpty() || domain.isEmpty()) throw new IllegalArgumentException("empty address part");
        domain = domain.toLowerCase(Locale.ROOT);
    }

    /** The key used for lookups: local parts are compared case-insensitively, as every major MTA does. */
    public String key() { return localPart.toLowerCase(Locale.ROOT) + "@" + domain; }

    public boolean isAscii() { return (localPart + domain).chars().allMatch(c -> c < 0x80); }

    /** Wire form: the local part re-quoted when it is not a dot-string. */
    @Override public String toString() {
        return (isDotString(localPart) ? localPart : quote(localPart)) + "@" + domain;
    }

    /** Parses {@code local@domain} (no angle brackets). Returns null when it is not a valid RFC 5321 Mailbox. */
    public static Address parse(String s, boolean allowUtf8) {
        if (s == null || s.isEmpty() || s.length() > 254 + 2) return null;
        String local;
        int at;
        if (s.charAt(0) == '"') {
            // RFC 5321 4.1.2 Quoted-string = DQUOTE *QcontentSMTP DQUOTE
            StringBuilder sb = new StringBuilder();
            int i = 1;
            for (; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\') {
                    if (++i >= s.length()) return null;
                    char q = s.charAt(i);
                    if (q < 32 || q > 126) return null;
                    sb.append(q);
                } else if (c == '"') {
                    break;
                } else if (c >= 32 && c <= 126 || (allowUtf8 && c >= 0x80)) {
                    sb.append(c);
                } else {
                    return null;
                }
            }
            if (i >= s.length() || i + 1 >= s.length() || s.charAt(i + 1) != '@') return null;
            local = sb.toString();
            at = i + 1;
        } else {
            at = s.lastIndexOf('@');
            if (at <= 0) return null;
            local = s.substring(0, at);
            if (!isDotString(local) && !(allowUtf8 && isDotString(local.replaceAll("[^\\x00-\\x7f]", "a")))) return null;
        }
        if (local.isEmpty() || local.length() > 64) return null; // RFC 5321 4.5.3.1.1
        String domain = s.substring(at + 1);
        if (!Domains.isValid(domain, allowUtf8)) return null;
        return new Address(local, domain);
    }

    static boolean isDotString(String s) {
        if (s.isEmpty() || s.startsWith(".") || s.endsWith(".") || s.contains("..")) return false;
        for (int i = 0; i < s.length(); i++) {
            if (!isAtext(s.charAt(i)) && s.charAt(i) != '.') return false;
        }
        return true;
    }

    // RFC 5322 3.2.3 atext
    static boolean isAtext(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0;
    }

    private static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
