package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import dev.postern.auth.Authenticator;
import dev.postern.smtp.sasl.Credentials;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The web console: static pages from the jar (/console/, no CDN, a Content-Security-Policy that allows
 * nothing from elsewhere) that call the admin API. A login — an account in [admin] users with its password,
 * or the admin token — opens a session: an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), valid
 * 12 hours. Requests that change anything must also carry the session's CSRF token in X-CSRF-Token, which
 * only the console's own script can read (from the login answer), so another site cannot forge them.
 */
final class Console {
    static final String COOKIE = "postern_console";
    private static final Duration LIFETIME = Duration.ofHours(12);
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "png", "image/png");

    record Session(String user, String csrf, Instant expires) {}

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    /** Failed logins per client address in the current window: after 5, that address waits out the window. */
    private final Map<String, int[]> failures = new ConcurrentHashMap<>();
    private volatile Instant failureWindowStart = Instant.EPOCH;
    static final int MAX_FAILURES = 5;
    static final Duration FAILURE_WINDOW = Duration.ofMinutes(10);
    private final SecureRandom random = new SecureRandom();
    private final Authenticator accounts;
    private final List<String> admins;
    private final byte[] token;
    private final boolean https;
    private final Clock clock;

    Console(Authenticator accounts, List<String> admins, byte[] token, boolean https, Clock clock) {
        this.accounts = accounts;
        this.admins = admins.stream().map(a -> a.toLowerCase(Locale.ROOT)).toList();
        this.token = token;
        this.https = https;
        this.clock = clock;
    }

    void register(AdminHttp http) {
        http.addOpen("GET", "/console", c -> asset(c.exchange, "index.html")); // also /console/ (trailing slashes are dropped)
        http.addOpen("GET", "/console/{file}", c -> asset(c.exchange, c.param("file")));
        http.addOpen("POST", "/console/login", this::login);
        http.addOpen("POST", "/console/logout", c -> {
            Session s = session(c.exchange);
            if (s != null) sessions.values().remove(s);
            c.exchange.getResponseHeaders().add("Set-Cookie", cookie("", 0));
            c.respond(200, Map.of("result", "logged out"));
        });
        http.addOpen("GET", "/console/session", c -> {
            Session s = session(c.exchange);
            if (s == null) c.error(401, "not logged in");
            else c.respond(200, Map.of("user", s.user(), "csrf", s.csrf()));
        });
    }

    private void login(AdminHttp.Call c) throws IOException {
        String client = c.exchange.getRemoteAddress().getAddress().getHostAddress();
        Instant now = clock.instant();
        if (now.isAfter(failureWindowStart.plus(FAILURE_WINDOW))) { // a fixed window, like the SMTP AUTH failure limit
            failures.clear();
            failureWindowStart = now;
        }
        int[] failed = failures.get(client);
        if (failed != null && failed[0] >= MAX_FAILURES) {
            c.error(429, "too many failed logins from " + client + "; try again later");
            return;
        }
        JsonNode b = c.body();
        String user = null;
        if (b.hasNonNull("token")) {
            if (MessageDigest.isEqual(b.path("token").asText().strip().getBytes(java.nio.charset.StandardCharsets.US_ASCII), token)) user = "admin token";
        } else {
            String name = b.path("user").asText("").toLowerCase(Locale.ROOT);
            String password = b.path("password").asText("");
            // the password is checked even for a name that may not log in, so timing tells nothing
            String verified = accounts == null ? null : accounts.verify(new Credentials.Password(name, password));
            if (verified != null && admins.contains(verified.toLowerCase(Locale.ROOT))) user = verified;
        }
        if (user == null) {
            failures.computeIfAbsent(client, k -> new int[1])[0]++;
            AdminEndpoint.log.warn("console: failed login from {}{}", client, b.hasNonNull("token") ? " with a token" : " as " + b.path("user").asText(""));
            c.error(401, "wrong user, password or token");
            return;
        }
        expire();
        String id = hex(32);
        Session s = new Session(user, hex(32), clock.instant().plus(LIFETIME));
        sessions.put(id, s);
        AdminEndpoint.log.info("console: {} logged in", user);
        c.exchange.getResponseHeaders().add("Set-Cookie", cookie(id, LIFETIME.toSeconds()));
        c.respond(200, Map.of("user", s.user(), "csrf", s.csrf()));
    }

    /**
     * Whether the request may use the API through a console session: a live session cookie, and for anything
     * but GET the session's CSRF token in X-CSRF-Token.
     */
    boolean admits(HttpExchange ex) {
        Session s = session(ex);
        if (s == null) return false;
        if (ex.getRequestMethod().equals("GET")) return true;
        String given = ex.getRequestHeaders().getFirst("X-CSRF-Token");
        return given != null && MessageDigest.isEqual(given.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                s.csrf().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    private Session session(HttpExchange ex) {
        List<String> cookies = ex.getRequestHeaders().get("Cookie");
        if (cookies == null) return null;
        for (String header : cookies) {
            for (String part : header.split(";")) {
                String p = part.strip();
                if (!p.startsWith(COOKIE + "=")) continue;
                Session s = sessions.get(p.substring(COOKIE.length() + 1));
                if (s != null && s.expires().isAfter(clock.instant())) return s;
            }
        }
        return null;
    }

    private String cookie(String value, long maxAge) {
        return COOKIE + "=" + value + "; Path=/; Max-Age=" + maxAge + "; HttpOnly; SameSite=Strict" + (https ? "; Secure" : "");
    }

    private void expire() {
        Instant now = clock.instant();
        sessions.values().removeIf(s -> !s.expires().isAfter(now));
    }

    private String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A file of the console from the jar; names are plain (no paths), so nothing else can be read. */
    private static void asset(HttpExchange ex, String file) throws IOException {
        String name = file.isEmpty() ? "index.html" : file;
        int dot = name.lastIndexOf('.');
        String type = dot < 0 ? null : TYPES.get(name.substring(dot + 1));
        InputStream in = !name.matches("[a-z0-9-]+\\.[a-z]+") || type == null ? null : Console.class.getResourceAsStream("/console/" + name);
        if (in == null) {
            AdminHttp.respond(ex, 404, Map.of("error", "no such file: " + name));
            return;
        }
        byte[] b;
        try (in) {
            b = in.readAllBytes();
        }
        var h = ex.getResponseHeaders();
        // everything comes from here; no framing by other sites (clickjacking)
        h.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cache-Control", "no-cache");
        AdminHttp.respond(ex, 200, type, b);
    }
}
