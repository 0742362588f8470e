package dev.postern.mail;

import java.util.regex.Pattern;

/** RFC 5321 4.1.2 Domain and address-literal syntax checks. */
public final class Domains {
    private Domains() {}

    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("\\[(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})]");

    public static boolean isValid(String domain, boolean allowUtf8) {
        if (domain.isEmpty() || domain.length() > 255) return false; // RFC 5321 4.5.3.1.2
        if (domain.startsWith("[")) return isAddressLiteral(domain);
        for (String label : domain.split("\\.", -1)) {
            if (allowUtf8 && label.chars().anyMatch(c -> c >= 0x80)) {
                if (label.isEmpty() || label.length() > 63) return false;
                continue;
            }
            if (!LABEL.matcher(label).matches()) return false;
        }
        return true;
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
