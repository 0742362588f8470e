package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin API's routing: each route is a method and a path template ("/queue/{id}/{action}"), literal
 * segments winning over parameters; a path that exists under another method is a 405, not a 404. The route
 * table is what the OpenAPI description (src/main/resources/openapi.json) is checked against.
 */
final class AdminHttp {
    static final ObjectMapper JSON = new ObjectMapper();

    interface Handler {
        void handle(Call call) throws IOException;
    }

    /** open: served without the bearer token (metrics, the API's description). */
    record Route(String method, String template, boolean open, Handler handler) {
        String[] segments() { return template.substring(1).split("/"); }

        long literals() { return java.util.Arrays.stream(segments()).filter(s -> !s.startsWith("{")).count(); }

        /** The path parameters when the path fits the template, else null. */
        Map<String, String> match(String[] path) {
            String[] t = segments();
            if (t.length != path.length) return null;
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 0; i < t.length; i++) {
                if (t[i].startsWith("{")) {
                    if (path[i].isEmpty()) return null;
                    params.put(t[i].substring(1, t[i].length() - 1), URLDecoder.decode(path[i], StandardCharsets.UTF_8));
                } else if (!t[i].equals(path[i])) {
                    return null;
                }
            }
            return params;
        }
    }

    /** One request: its path and query parameters, its JSON body, and the answer. */
    static final class Call {
        final HttpExchange exchange;
        final Map<String, String> path;
        final Map<String, String> query;

        Call(HttpExchange exchange, Map<String, String> path) {
            this.exchange = exchange;
            this.path = path;
            this.query = query(exchange.getRequestURI().getRawQuery());
        }

        String param(String name) { return path.get(name); }

        JsonNode body() throws IOException {
            byte[] b = exchange.getRequestBody().readNBytes(1 << 20);
            return b.length == 0 ? JSON.createObjectNode() : JSON.readTree(b);
        }

        void respond(int status, Object body) throws IOException { AdminHttp.respond(exchange, status, body); }

        void error(int status, String message) throws IOException { respond(status, Map.of("error", message)); }

        private static Map<String, String> query(String raw) {
            Map<String, String> q = new LinkedHashMap<>();
            if (raw == null || raw.isEmpty()) return q;
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                q.put(k, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
            return q;
        }
    }

    private final List<Route> routes = new ArrayList<>();

    void add(String method, String template, Handler h) { routes.add(new Route(method, template, false, h)); }

    void addOpen(String method, String template, Handler h) { routes.add(new Route(method, template, true, h)); }

    /** Every route, literal-heavy templates first (the order they are tried in). */
    List<Route> routes() {
        return routes.stream().sorted(Comparator.comparingLong(Route::literals).reversed()).toList();
    }

    /** The route for a request, or why there is none (404 or 405). */
    record Found(Route route, Map<String, String> params, int status) {}

    Found find(String method, String path) {
        String[] parts = path.replaceAll("/+$", "").replaceFirst("^/", "").split("/", -1);
        boolean otherMethod = false;
        for (Route r : routes()) {
            Map<String, String> p = r.match(parts);
            if (p == null) continue;
            if (r.method.equals(method)) return new Found(r, p, 200);
            otherMethod = true;
        }
        return new Found(null, null, otherMethod ? 405 : 404);
    }

    static void respond(HttpExchange ex, int status, Object body) throws IOException {
        respond(ex, status, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body));
    }

    /** An answer of a given type, whole (its length known up front). */
    static void respond(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
