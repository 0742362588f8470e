package dev.postern.message;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Builds the Authentication-Results field (RFC 8601) and recognises ones that claim our authserv-id. */
public final class AuthenticationResults {
    private final String authservId;
    private final List<String> results = new ArrayList<>();

    public AuthenticationResults(String authservId) { this.authservId = authservId; }

    /** Adds "method=result (comment) prop=value ..."; null properties are left out. */
    public AuthenticationResults add(String method, String result, String reason, String... properties) {
        StringBuilder r = new StringBuilder(method).append('=').append(result);
        if (reason != null && !reason.isEmpty()) r.append(" reason=\"").append(reason.replace("\"", "'").replace("\\", "")).append('"');
        for (int i = 0; i + 1 < properties.length; i += 2) {
            if (properties[i + 1] != null && !properties[i + 1].isEmpty()) r.append(' ').append(properties[i]).append('=').append(value(properties[i + 1]));
        }
        results.add(r.toString());
        return this;
    }

    /** RFC 8601 2.2: values that are not tokens are quoted. */
    private static String value(String v) {
        return v.matches("[A-Za-z0-9._@+/=!#$%&'*^`{|}~-]+") ? v : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** "authserv-id; result; result" on one line, as an ARC-Authentication-Results field repeats it. */
    public String body() {
        return results.isEmpty() ? authservId + "; none" : authservId + "; " + String.join("; ", results);
    }

    public String field() {
        StringBuilder f = new StringBuilder("Authentication-Results: ").append(authservId);
        if (results.isEmpty()) return f.append("; none\r\n").toString();
        for (String r : results) f.append(";\r\n\t").append(r);
        return f.append("\r\n").toString();
    }

    /** RFC 8601 5: a field naming our authserv-id that we did not add is a forgery and must go. */
    public static boolean claims(HeaderField f, String authservId) {
        if (!f.is("Authentication-Results")) return false;
        String v = f.value().strip();
        int semi = v.indexOf(';');
        String id = (semi < 0 ? v : v.substring(0, semi)).strip();
        int space = id.indexOf(' ');
        if (space > 0) id = id.substring(0, space); // an optional version follows the id
        return id.toLowerCase(Locale.ROOT).equals(authservId.toLowerCase(Locale.ROOT));
    }
}
