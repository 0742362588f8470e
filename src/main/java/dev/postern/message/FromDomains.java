package dev.postern.message;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The domains of the RFC 5322 From field's addresses, the identity DMARC protects (RFC 7489 3.1). */
public final class FromDomains {
    private FromDomains() {}

    /** Every address domain in every From field, lower-cased; empty when there is none or it cannot be read. */
    public static List<String> of(List<HeaderField> headers) {
        List<String> out = new ArrayList<>();
        for (HeaderField f : headers) {
            if (!f.is("From")) continue;
            for (String addr : addresses(withoutComments(f.value()))) {
                int at = addr.lastIndexOf('@');
                if (at < 0 || at == addr.length() - 1) continue;
                out.add(addr.substring(at + 1).strip().toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }

    private static String withoutComments(String v) {
        StringBuilder out = new StringBuilder();
        int depth = 0;
        boolean quoted = false;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\\' && i + 1 < v.length()) {
                if (depth == 0) out.append(c).append(v.charAt(i + 1));
                i++;
                continue;
            }
            if (!quoted && c == '(') { depth++; continue; }
            if (!quoted && c == ')' && depth > 0) { depth--; continue; }
            if (depth == 0) {
                if (c == '"') quoted = !quoted;
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Splits a mailbox list on commas outside quotes and angle brackets; takes the angle-addr when present. */
    private static List<String> addresses(String v) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        int angle = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"') quoted = !quoted;
            if (!quoted && c == '<') angle++;
            if (!quoted && c == '>' && angle > 0) angle--;
            if (!quoted && angle == 0 && (c == ',' || c == ';' || c == ':')) {
                if (c == ':') cur.setLength(0); // group name
                else { out.add(extract(cur.toString())); cur.setLength(0); }
                continue;
            }
            cur.append(c);
        }
        out.add(extract(cur.toString()));
        out.removeIf(String::isBlank);
        return out;
    }

    private static String extract(String mailbox) {
        int lt = mailbox.lastIndexOf('<');
        int gt = mailbox.lastIndexOf('>');
        if (lt >= 0 && gt > lt) return mailbox.substring(lt + 1, gt).strip();
        return mailbox.strip();
    }
}
