package dev.postern.mail;

import java.util.regex.Pattern;

/** RFC 5321 4.1.2 Domain and address-literal syntax checks. */
public final class Domains {
    private Domains() {}

    private static final Pattern IPV4 = Pattern.compile("\\[(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})]");

    /** Checked for every address of every MAIL and RCPT: label by label, without splitting or a regex. */
    public static boolean isValid(String domain, boolean allowUtf8) {
        if (domain.isEmpty() || domain.length() > 255) return false; // RFC 5321 4.5.3.1.2
        if (domain.startsWith("[")) return isAddressLiteral(domain);
        for (int start = 0; ; ) {
            int dot = domain.indexOf('.', start);
            int end = dot < 0 ? domain.length() : dot;
            if (!isLabel(domain, start, end, allowUtf8)) return false;
            if (dot < 0) return true;
            start = dot + 1;
        }
    }

    /**
     * RFC 5321 4.1.2 / RFC 1035 2.3.1: letters, digits and hyphens, 1 to 63 octets, starting and ending with a
     * letter or digit. A label with non-ASCII characters (SMTPUTF8) is only checked for its length.
     */
    private static boolean isLabel(String s, int from, int to, boolean allowUtf8) {
        int length = to - from;
        if (allowUtf8) {
            for (int i = from; i < to; i++) if (s.charAt(i) >= 0x80) return length > 0 && length <= 63;
        }
        if (length < 1 || length > 63 || !letterOrDigit(s.charAt(from)) || !letterOrDigit(s.charAt(to - 1))) return false;
        for (int i = from + 1; i < to - 1; i++) {
            char c = s.charAt(i);
            if (!letterOrDigit(c) && c != '-') return false;
        }
        return true;
    }

    private static boolean letterOrDigit(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    static boolean isAddressLiteral(String d) {
        var m = IPV4.matcher(d);
        if (m.matches()) {
            for (int i = 1; i <= 4; i++) if (Integer.parseInt(m.group(i)) > 255) return false;
            return true;
        }
        return d.startsWith("[IPv6:") && d.endsWith("]") && d.substring(6, d.length() - 1).matches("[0-9A-Fa-f:.]+");
    }
}
