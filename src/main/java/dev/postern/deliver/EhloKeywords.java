package dev.postern.deliver;

import dev.postern.mail.Reply;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The extensions a peer announced in its EHLO reply (RFC 5321 4.1.1.1): keyword → parameters. */
record EhloKeywords(Map<String, String> keywords) {
    static final EhloKeywords NONE = new EhloKeywords(Map.of());

    static EhloKeywords parse(Reply ehlo) {
        Map<String, String> k = new HashMap<>();
        List<String> lines = ehlo.lines();
        for (int i = 1; i < lines.size(); i++) {
            String l = lines.get(i).trim();
            int sp = l.indexOf(' ');
            k.put((sp < 0 ? l : l.substring(0, sp)).toUpperCase(Locale.ROOT), sp < 0 ? "" : l.substring(sp + 1).trim());
        }
        return new EhloKeywords(Map.copyOf(k));
    }

    boolean has(String keyword) { return keywords.containsKey(keyword); }

    /** RFC 1870: SIZE with an optional limit; 0 means announced without a limit or not announced. */
    long maxSize() {
        String v = keywords.get("SIZE");
        try {
            return v == null || v.isEmpty() ? 0 : Long.parseLong(v.split(" ")[0]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    List<String> authMechanisms() {
        String v = keywords.get("AUTH");
        return v == null ? List.of() : List.of(v.toUpperCase(Locale.ROOT).split("\\s+"));
    }
}
