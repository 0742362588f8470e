package dev.postern.smtp;

import dev.postern.mail.Reply;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Assembles server reply lines into replies (RFC 5321 4.2.1: "code-text" continues, "code text" ends).
 * The enhanced status code (RFC 3463) is split off the text when the peer sent one.
 */
public final class ReplyReader {
    private static final Pattern LINE = Pattern.compile("([2-5]\\d\\d)([ -]|$)(.*)");
    private static final Pattern ENHANCED = Pattern.compile("([245]\\.\\d{1,3}\\.\\d{1,3}) (.*)");

    private final List<String> texts = new ArrayList<>();
    private int code = -1;

    /** Feeds one line (without CRLF). Returns the reply when this line completes it, else null. */
    public Reply line(String line) throws MalformedReply {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) throw new MalformedReply("not an SMTP reply line: " + abbreviate(line));
        int c = Integer.parseInt(m.group(1));
        if (code >= 0 && c != code) throw new MalformedReply("reply code changed within a reply: " + abbreviate(line));
        code = c;
        texts.add(m.group(3));
        if (m.group(2).equals("-")) return null;
        String enhanced = null;
        List<String> lines = new ArrayList<>();
        for (String t : texts) {
            Matcher e = ENHANCED.matcher(t);
            if (e.matches() && String.valueOf(c).charAt(0) == e.group(1).charAt(0)) {
                enhanced = e.group(1);
                lines.add(e.group(2));
            } else {
                lines.add(t);
            }
        }
        Reply r = new Reply(c, enhanced, lines);
        texts.clear();
        code = -1;
        return r;
    }

    private static String abbreviate(String s) { return s.length() > 100 ? s.substring(0, 100) + "..." : s; }

    public static final class MalformedReply extends Exception {
        public MalformedReply(String m) { super(m); }
    }
}
