package dev.postern.mail;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where to send mail next, in Postfix's notation: {@code [smtp:|lmtp:]host[:port]}. Square brackets around
 * the host mean "this host itself, no MX lookup" (Postfix transport(5)); without them the host is a domain
 * whose MX records are looked up. {@code lmtp:unix:/path} (and {@code smtp:unix:/path}) names a unix-domain
 * socket, as Dovecot's LMTP listens on by default; socketPath is then set and host is that path.
 */
public record Nexthop(String protocol, String host, int port, boolean noMx, String socketPath) {
    private static final Pattern UNIX = Pattern.compile("(smtp|lmtp):unix:(/[^\\s]*)", Pattern.CASE_INSENSITIVE);

    public Nexthop(String protocol, String host, int port, boolean noMx) { this(protocol, host, port, noMx, null); }

    private static final Pattern FORM = Pattern.compile("(?:(smtp|lmtp):)?(\\[([^\\]]+)]|[^:\\[\\]]+)(?::(\\d{1,5}))?",
            Pattern.CASE_INSENSITIVE);

    /** Parses a nexthop; null when malformed. defaultPort applies when none is given. */
    public static Nexthop parse(String s, int defaultPort) {
        Matcher u = UNIX.matcher(s.trim());
        if (u.matches()) {
            String path = u.group(2);
            if (path.length() > 107 || path.contains("/../") || path.endsWith("/")) return null; // sun_path holds 108 bytes
            return new Nexthop(u.group(1).toLowerCase(Locale.ROOT), path, 0, true, path);
        }
        Matcher m = FORM.matcher(s.trim());
        if (!m.matches()) return null;
        String protocol = m.group(1) == null ? "smtp" : m.group(1).toLowerCase(Locale.ROOT);
        boolean bracketed = m.group(3) != null;
        String host = (bracketed ? m.group(3) : m.group(2)).toLowerCase(Locale.ROOT);
        int port = m.group(4) == null ? (protocol.equals("lmtp") ? 24 : defaultPort) : Integer.parseInt(m.group(4));
        if (port < 1 || port > 65535) return null;
        boolean literal = host.matches("[0-9.]+|[0-9a-f:]+:[0-9a-f:.]*");
        if (!literal && !Domains.isValid(host, false)) return null;
        // an address literal never has MX records; an LMTP target is always a host
        return new Nexthop(protocol, host, port, bracketed || literal || protocol.equals("lmtp"));
    }

    public boolean isLmtp() { return protocol.equals("lmtp"); }

    public boolean isUnixSocket() { return socketPath != null; }

    @Override public String toString() {
        if (socketPath != null) return protocol + ":unix:" + socketPath;
        return protocol + ":" + (noMx ? "[" + host + "]" : host) + ":" + port;
    }
}
