package dev.postern.mail;

import java.util.List;

/**
 * One SMTP reply: a three-digit code, an optional RFC 3463 enhanced status, and text lines.
 * Replies are values; the catalogue of the ones Postern sends lives in {@link Replies}.
 */
public record Reply(int code, String enhanced, List<String> lines) {

    public Reply {
        if (code < 200 || code > 599) throw new IllegalArgumentException("bad reply code " + code);
        lines = List.copyOf(lines);
    }

    public static Reply of(int code, String enhanced, String text) {
        return new Reply(code, enhanced, List.of(text));
    }

    public Reply withText(String text) {
        return new Reply(code, enhanced, List.of(text));
    }

    public boolean isPositive() { return code < 400; }
    public boolean isTransient() { return code >= 400 && code < 500; }
    public boolean isPermanent() { return code >= 500; }

    /**
     * Wire form. RFC 5321 4.2.1: every line but the last carries "code-"; RFC 2034 section 4: the
     * enhanced code starts the text of every line once ENHANCEDSTATUSCODES is in effect.
     */
    public String format(boolean withEnhanced) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            sb.append(code).append(i == lines.size() - 1 ? ' ' : '-');
            if (withEnhanced && enhanced != null) sb.append(enhanced).append(' ');
            sb.append(lines.get(i)).append("\r\n");
        }
        return sb.toString();
    }

    @Override public String toString() {
        String s = format(true);
        return s.substring(0, s.length() - 2).replace("\r\n", " / ");
    }
}
