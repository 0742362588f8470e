package dev.postern.policy;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/** RFC 7208 7: macro expansion in domain-spec and explanation strings. */
final class SpfMacro {

    /** What the macros refer to. {@code validatedName} is looked up only when %{p} is used. */
    record Context(String sender, String domain, InetAddress ip, String helo, String receiver,
                   Supplier<String> validatedName) {}

    static final class SyntaxError extends Exception {
        SyntaxError(String m) { super(m); }
    }

    private SpfMacro() {}

    /** Expands a macro-string; {@code explanation} enables c, r and t (RFC 7208 7.2). */
    static String expand(String spec, Context cx, boolean explanation) throws SyntaxError {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (c != '%') {
                if (c < 0x21 || c > 0x7e) {
                    if (!explanation || c != ' ') throw new SyntaxError("invalid character in macro-string");
                }
                out.append(c);
                continue;
            }
            if (++i >= spec.length()) throw new SyntaxError("'%' at the end of a macro-string");
            char n = spec.charAt(i);
            switch (n) {
                case '%' -> out.append('%');
                case '_' -> out.append(' ');
                case '-' -> out.append("%20");
                case '{' -> {
                    int close = spec.indexOf('}', i);
                    if (close < 0) throw new SyntaxError("unclosed macro");
                    out.append(expandOne(spec.substring(i + 1, close), cx, explanation));
                    i = close;
                }
                default -> throw new SyntaxError("invalid macro '%" + n + "'");
            }
        }
        return out.toString();
    }

    private static String expandOne(String body, Context cx, boolean explanation) throws SyntaxError {
        if (body.isEmpty()) throw new SyntaxError("empty macro");
        char letter = body.charAt(0);
        boolean upper = Character.isUpperCase(letter);
        String value = switch (Character.toLowerCase(letter)) {
            case 's' -> cx.sender();
            case 'l' -> cx.sender().substring(0, cx.sender().lastIndexOf('@'));
            case 'o' -> cx.sender().substring(cx.sender().lastIndexOf('@') + 1);
            case 'd' -> cx.domain();
            case 'i' -> dotted(cx.ip());
            case 'p' -> cx.validatedName().get();
            case 'v' -> cx.ip() instanceof Inet4Address ? "in-addr" : "ip6";
            case 'h' -> cx.helo() == null ? "unknown" : cx.helo();
            case 'c' -> {
                if (!explanation) throw new SyntaxError("%{c} is only allowed in exp");
                yield cx.ip().getHostAddress();
            }
            case 'r' -> {
                if (!explanation) throw new SyntaxError("%{r} is only allowed in exp");
                yield cx.receiver();
            }
            case 't' -> {
                if (!explanation) throw new SyntaxError("%{t} is only allowed in exp");
                yield Long.toString(System.currentTimeMillis() / 1000);
            }
            default -> throw new SyntaxError("unknown macro letter '" + letter + "'");
        };
        int i = 1;
        int digits = -1;
        int start = i;
        while (i < body.length() && Character.isDigit(body.charAt(i))) i++;
        if (i > start) {
            digits = Integer.parseInt(body.substring(start, Math.min(i, start + 4)));
            if (digits == 0) throw new SyntaxError("zero digits in macro");
        }
        boolean reverse = false;
        if (i < body.length() && (body.charAt(i) == 'r' || body.charAt(i) == 'R')) {
            reverse = true;
            i++;
        }
        String delimiters = body.substring(i);
        for (char d : delimiters.toCharArray()) {
            if (".-+,/_=".indexOf(d) < 0) throw new SyntaxError("invalid delimiter '" + d + "'");
        }
        if (delimiters.isEmpty()) delimiters = ".";
        List<String> parts = split(value, delimiters);
        if (reverse) Collections.reverse(parts);
        if (digits > 0 && digits < parts.size()) parts = parts.subList(parts.size() - digits, parts.size());
        String joined = String.join(".", parts);
        // RFC 7208 7.3: upper-case macro letters are URL-escaped
        return upper ? URLEncoder.encode(joined, StandardCharsets.UTF_8).replace("+", "%20") : joined;
    }

    private static List<String> split(String value, String delimiters) {
        List<String> parts = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < value.length(); i++) {
            if (delimiters.indexOf(value.charAt(i)) >= 0) {
                parts.add(value.substring(from, i));
                from = i + 1;
            }
        }
        parts.add(value.substring(from));
        return parts;
    }

    /** RFC 7208 7.3: %{i} is dotted-quad for IPv4 and dot-separated nibbles for IPv6. */
    static String dotted(InetAddress ip) {
        if (ip instanceof Inet4Address) return ip.getHostAddress();
        StringBuilder sb = new StringBuilder();
        for (byte b : ip.getAddress()) {
            if (sb.length() > 0) sb.append('.');
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append('.').append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }
}
