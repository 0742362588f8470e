package dev.postern.smtp;

import dev.postern.mail.Reply;

import java.util.ArrayList;
import java.util.List;

/**
 * Assembles server reply lines into replies (RFC 5321 4.2.1: "code-text" continues, "code text" ends).
 * The enhanced status code (RFC 3463) is split off the text when the peer sent one.
 */
public final class ReplyReader {
    private final List<String> texts = new ArrayList<>();
    private int code = -1;

    /**
     * Feeds one line (without CRLF). Returns the reply when this line completes it, else null. Parsed by hand
     * rather than with a regular expression: every reply of every outbound transaction passes here.
     */
    public Reply line(String line) throws MalformedReply {
        int n = line.length();
        // three digits, the first 2-5, then " ", "-" or nothing; no line break inside (RFC 5321 4.2)
        if (n < 3 || line.charAt(0) < '2' || line.charAt(0) > '5' || !digit(line.charAt(1)) || !digit(line.charAt(2))
                || (n > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-') || hasLineBreak(line)) {
            throw new MalformedReply("not an SMTP reply line: " + abbreviate(line));
        }
        int c = (line.charAt(0) - '0') * 100 + (line.charAt(1) - '0') * 10 + (line.charAt(2) - '0');
        if (code >= 0 && c != code) throw new MalformedReply("reply code changed within a reply: " + abbreviate(line));
        code = c;
        texts.add(n > 4 ? line.substring(4) : "");
        if (n > 3 && line.charAt(3) == '-') return null;
        String enhanced = null;
        List<String> lines = new ArrayList<>(texts.size());
        for (String t : texts) {
            int space = enhancedCodeEnd(t);
            // RFC 3463 2: the enhanced code's class matches the reply's
            if (space > 0 && t.charAt(0) == line.charAt(0)) {
                enhanced = t.substring(0, space);
                lines.add(t.substring(space + 1));
            } else {
                lines.add(t);
            }
        }
        Reply r = new Reply(c, enhanced, lines);
        texts.clear();
        code = -1;
        return r;
    }

    /** Where "X.Y.Z " ends (the space), X one of 2, 4, 5 and Y, Z one to three digits (RFC 3463 2); -1 if not there. */
    private static int enhancedCodeEnd(String t) {
        int n = t.length();
        if (n < 6 || (t.charAt(0) != '2' && t.charAt(0) != '4' && t.charAt(0) != '5') || t.charAt(1) != '.') return -1;
        int i = digits(t, 2);
        if (i < 0 || i >= n || t.charAt(i) != '.') return -1;
        i = digits(t, i + 1);
        return i < 0 || i >= n || t.charAt(i) != ' ' ? -1 : i;
    }

    /** The index after one to three digits starting at from, or -1 when there are none. */
    private static int digits(String t, int from) {
        int i = from;
        while (i < t.length() && i - from < 3 && digit(t.charAt(i))) i++;
        return i == from ? -1 : i;
    }

    private static boolean digit(char c) { return c >= '0' && c <= '9'; }

    /** The characters a regular expression's "." refuses: what splits lines anywhere. */
    private static boolean hasLineBreak(String s) {
        for (int i = 3; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029') return true;
        }
        return false;
    }

    private static String abbreviate(String s) { return s.length() > 100 ? s.substring(0, 100) + "..." : s; }

    public static final class MalformedReply extends Exception {
        public MalformedReply(String m) { super(m); }
    }
}
