package dev.postern.smtp;

import dev.postern.mail.Address;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The argument of MAIL and RCPT: {@code FROM:<path> [params]} / {@code TO:<path> [params]}
 * (RFC 5321 4.1.1.2, 4.1.1.3, 4.1.2). Either a parsed path or the reply that refuses it.
 *
 * @param address   null for the null path {@code <>} or for {@code <Postmaster>}
 * @param postmaster true for RCPT TO:&lt;Postmaster&gt; without a domain (RFC 5321 4.5.1)
 * @param params    ESMTP parameters, keys upper-cased, values as sent (null when a key has no value)
 */
public record PathArgument(Address address, boolean postmaster, Map<String, String> params, Reply error) {

    static PathArgument error(Reply r) { return new PathArgument(null, false, Map.of(), r); }

    public boolean isError() { return error != null; }

    public static PathArgument parseMail(String arg, boolean allowUtf8) {
        return parse(arg, "FROM:", true, allowUtf8);
    }

    public static PathArgument parseRcpt(String arg, boolean allowUtf8) {
        return parse(arg, "TO:", false, allowUtf8);
    }

    private static PathArgument parse(String arg, String prefix, boolean mail, boolean allowUtf8) {
        if (!arg.regionMatches(true, 0, prefix, 0, prefix.length())) return error(Replies.SYNTAX_ERROR);
        String rest = arg.substring(prefix.length()).stripLeading(); // tolerate "FROM: <a@b>", as Postfix does
        if (!rest.startsWith("<")) return error(mail ? Replies.BAD_SENDER_SYNTAX : Replies.BAD_ADDRESS_SYNTAX);
        int close = closingBracket(rest);
        if (close < 0) return error(mail ? Replies.BAD_SENDER_SYNTAX : Replies.BAD_ADDRESS_SYNTAX);
        String path = rest.substring(1, close);
        String after = rest.substring(close + 1);
        if (!after.isEmpty() && !after.startsWith(" ")) return error(Replies.SYNTAX_ERROR);
        Map<String, String> params = parseParams(after.trim());
        if (params == null) return error(Replies.SYNTAX_ERROR);

        boolean utf8 = allowUtf8 || params.containsKey("SMTPUTF8");
        if (path.isEmpty()) {
            return mail ? new PathArgument(null, false, params, null) : error(Replies.BAD_ADDRESS_SYNTAX);
        }
        if (!mail && path.equalsIgnoreCase("postmaster")) return new PathArgument(null, true, params, null);
        // RFC 5321 4.1.2 / Appendix C: a source route "@a,@b:" is accepted and ignored; the mailbox after it
        // is what relay control judges, so a route can never sneak mail to a remote domain.
        if (path.startsWith("@")) {
            int colon = path.indexOf(':');
            if (colon < 0 || !validRoute(path.substring(0, colon))) {
                return error(mail ? Replies.BAD_SENDER_SYNTAX : Replies.BAD_ADDRESS_SYNTAX);
            }
            path = path.substring(colon + 1);
        }
        Address a = Address.parse(path, utf8);
        if (a == null) return error(mail ? Replies.BAD_SENDER_SYNTAX : Replies.BAD_ADDRESS_SYNTAX);
        return new PathArgument(a, false, params, null);
    }

    /** Finds the '>' closing the path, skipping quoted strings so {@code <"a>b"@c>} parses. */
    private static int closingBracket(String s) {
        boolean quoted = false;
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted && c == '\\') { i++; continue; }
            if (c == '"') quoted = !quoted;
            else if (c == '>' && !quoted) return i;
        }
        return -1;
    }

    private static boolean validRoute(String route) {
        for (String hop : route.split(",", -1)) {
            if (!hop.startsWith("@") || !dev.postern.mail.Domains.isValid(hop.substring(1), false)) return false;
        }
        return true;
    }

    /** RFC 5321 4.1.2 Mail-parameters: esmtp-keyword ["=" esmtp-value], space separated. Null on bad syntax. */
    static Map<String, String> parseParams(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        if (s.isEmpty()) return out;
        for (String p : s.split(" +")) {
            int eq = p.indexOf('=');
            String key = (eq < 0 ? p : p.substring(0, eq)).toUpperCase(Locale.ROOT);
            String value = eq < 0 ? null : p.substring(eq + 1);
            if (!key.matches("[A-Z0-9][A-Z0-9-]*")) return null;
            if (value != null && (value.isEmpty() || value.chars().anyMatch(c -> c < 33 || c == '=' || c == 127))) return null;
            if (out.containsKey(key)) return null; // a parameter given twice is a syntax error
            out.put(key, value);
        }
        return out;
    }
}
