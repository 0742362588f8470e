package dev.postern.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.postern.config.Config;
import dev.postern.queue.Queue;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The loopback-only admin endpoint behind "postern queue" (Postfix's postqueue/postsuper over HTTP).
 * Every request carries the bearer token from {@code <data_dir>/admin.token} (mode 0600), so only users
 * who can read the data directory can manage the queue. The bound port is written to admin.port.
 *
 * <pre>
 * GET  /queue                 list          POST /queue/flush
 * GET  /queue/ID              show          POST /queue/ID/{retry,hold,release,delete,bounce}
 * GET  /metrics               counters in Prometheus text format (no token)
 * POST /policy/reload         re-read the allow/block list files
 * POST /backup?to=PATH        a consistent backup of the queue and the state to PATH
 * </pre>
 */
final class AdminEndpoint implements AutoCloseable {
    /** An action that may fail reading files or the database. */
    interface IoAction {
        void run() throws IOException;
    }

    /** Writes a backup to the file; returns how long it took in ms. */
    interface BackupAction {
        long to(java.nio.file.Path file) throws IOException;
    }

    private static final Logger log = LoggerFactory.getLogger("postern.admin");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer http;
    private final Queue queue;
    private final byte[] token;

    private final java.util.function.Supplier<Map<String, Long>> metrics;
    /** In a cluster, the other nodes' tokens (null: only this node's). */
    private SharedTokens shared;

    private AdminEndpoint(HttpServer http, Queue queue, byte[] token, java.util.function.Supplier<Map<String, Long>> metrics) {
        this.http = http;
        this.queue = queue;
        this.token = token;
        this.metrics = metrics;
    }

    static AdminEndpoint start(Config config, Queue queue, Runnable reloadTables,
                               java.util.function.Supplier<Map<String, Long>> metrics, DmarcReportSender dmarc,
                               SharedTokens shared, IoAction reloadUsers, BackupAction backup) throws IOException {
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
        writePrivate(config.adminTokenFile(), token + "\n");
        if (shared != null) shared.register(config.cluster().nodeName(), token);
        HttpServer http = HttpServer.create(new InetSocketAddress(config.admin().host(), config.admin().port()), 16);
        AdminEndpoint a = new AdminEndpoint(http, queue, token.getBytes(StandardCharsets.US_ASCII), metrics);
        a.shared = shared;
        http.createContext("/queue", a::handle);
        http.createContext("/metrics", a::metrics);
        http.createContext("/policy/reload", ex -> {
            try (ex) {
                if (a.refused(ex)) return;
                reloadTables.run();
                respond(ex, 200, Map.of("result", "reloaded"));
            }
        });
        // "postern user add|passwd|remove" wait for this, so an account works as soon as the command returns
        http.createContext("/users/reload", ex -> {
            try (ex) {
                if (a.refused(ex)) return;
                if (!ex.getRequestMethod().equals("POST")) {
                    respond(ex, 405, Map.of("error", "use POST"));
                    return;
                }
                try {
                    reloadUsers.run();
                    respond(ex, 200, Map.of("result", "reloaded"));
                } catch (IOException e) {
                    respond(ex, 500, Map.of("error", "cannot read the accounts: " + e.getMessage()));
                }
            }
        });
        // "postern backup --to FILE": a consistent copy of the queue and the state, the server running on
        http.createContext("/backup", ex -> {
            try (ex) {
                if (a.refused(ex)) return;
                if (!ex.getRequestMethod().equals("POST")) {
                    respond(ex, 405, Map.of("error", "use POST"));
                    return;
                }
                String q = ex.getRequestURI().getRawQuery();
                if (q == null || !q.startsWith("to=")) {
                    respond(ex, 400, Map.of("error", "name the file: /backup?to=PATH"));
                    return;
                }
                java.nio.file.Path file = java.nio.file.Path.of(java.net.URLDecoder.decode(q.substring(3), StandardCharsets.UTF_8));
                if (!file.isAbsolute()) {
                    respond(ex, 400, Map.of("error", "the backup file must be an absolute path"));
                    return;
                }
                try {
                    long ms = backup.to(file);
                    log.info("backup written to {} in {} ms", file, ms);
                    respond(ex, 200, Map.of("result", file.toString(), "millis", ms));
                } catch (IOException e) {
                    log.warn("backup to {} failed: {}", file, e.toString());
                    respond(ex, 500, Map.of("error", "backup failed: " + e.getMessage()));
                }
            }
        });
        http.createContext("/dmarc/send", ex -> {
            try (ex) {
                if (a.refused(ex)) return;
                String q = ex.getRequestURI().getQuery();
                java.time.LocalDate day;
                try {
                    day = q != null && q.startsWith("day=") ? java.time.LocalDate.parse(q.substring(4))
                            : java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(1);
                } catch (java.time.format.DateTimeParseException e) {
                    respond(ex, 400, Map.of("error", "day must be YYYY-MM-DD"));
                    return;
                }
                if (!ex.getRequestMethod().equals("POST")) {
                    respond(ex, 405, Map.of("error", "use POST"));
                    return;
                }
                List<String> lines = dmarc.send(day);
                lines.forEach(l -> log.info("dmarc report {}: {}", day, l));
                respond(ex, 200, Map.of("result", lines));
            } catch (RuntimeException e) {
                log.error("dmarc report sending failed", e);
            }
        });
        http.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "admin-http");
            t.setDaemon(true);
            return t;
        }));
        http.start();
        writePrivate(config.adminPortFile(), http.getAddress().getPort() + "\n");
        log.info("admin endpoint on 127.0.0.1:{}", http.getAddress().getPort());
        return a;
    }

    /** Writes a file only its owner may read (mode 0600), whole or not at all. */
    static void writePrivate(Path file, String content) throws IOException {
        dev.postern.store.StateFiles.replacePrivate(file, content.getBytes(StandardCharsets.UTF_8));
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (refused(ex)) return;
            String[] parts = ex.getRequestURI().getPath().replaceAll("/+$", "").split("/");
            String method = ex.getRequestMethod();
            // parts: "", "queue", [ID | "flush"], [action]
            if (parts.length == 2 && method.equals("GET")) {
                respond(ex, 200, Map.of("messages", queue.list().stream().map(AdminEndpoint::describe).toList()));
            } else if (parts.length == 3 && parts[2].equals("flush") && method.equals("POST")) {
                queue.flush();
                log.info("flush requested by administrator");
                respond(ex, 200, Map.of("result", "flushed"));
            } else if (parts.length == 3 && method.equals("GET")) {
                QueuedMessage m = queue.get(parts[2]);
                if (m == null) respond(ex, 404, Map.of("error", "no such message: " + parts[2]));
                else respond(ex, 200, describe(m));
            } else if (parts.length == 4 && method.equals("POST")) {
                action(ex, parts[2], parts[3]);
            } else {
                respond(ex, 404, Map.of("error", "unknown request " + method + " " + ex.getRequestURI().getPath()));
            }
        } catch (java.io.UncheckedIOException e) {
            // the queue's store is out of reach (a cluster's database down): say so instead of hanging up
            respond(ex, 503, Map.of("error", "queue unavailable: " + e.getCause().getMessage()));
        } catch (RuntimeException e) {
            log.error("admin request failed", e);
        }
    }

    /** Prometheus text format; no token, like most metrics endpoints (this one listens on loopback only). */
    private void metrics(HttpExchange ex) throws IOException {
        try (ex) {
            StringBuilder sb = new StringBuilder();
            new java.util.TreeMap<>(metrics.get()).forEach((k, v) -> sb.append(k).append(' ').append(v).append('\n'));
            byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        }
    }

    /** Answers 401 and returns true unless the request carries the admin token. */
    private boolean refused(HttpExchange ex) throws IOException {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim().getBytes(StandardCharsets.US_ASCII) : new byte[0];
        if (MessageDigest.isEqual(given, token)) return false;
        if (shared != null && given.length > 0 && shared.accepts(new String(given, StandardCharsets.US_ASCII))) return false;
        respond(ex, 401, Map.of("error", "missing or wrong admin token"));
        return true;
    }

    private void action(HttpExchange ex, String id, String action) throws IOException {
        boolean found = switch (action) {
            case "retry" -> queue.retry(id);
            case "hold" -> queue.hold(id);
            case "release" -> queue.release(id);
            case "delete" -> queue.delete(id);
            case "bounce" -> queue.bounce(id);
            default -> {
                respond(ex, 404, Map.of("error", "unknown action " + action));
                yield true;
            }
        };
        if (ex.getResponseCode() > 0) return;
        if (!found) respond(ex, 404, Map.of("error", "no such message: " + id));
        else respond(ex, 200, Map.of("result", action, "id", id));
    }

    static Map<String, Object> describe(QueuedMessage m) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", m.id());
        o.put("size", m.size());
        o.put("arrival", m.envelope().arrival().toString());
        o.put("sender", m.envelope().sender().toString());
        o.put("held", m.held());
        List<Map<String, Object>> rcpts = m.recipients().stream().map(AdminEndpoint::describe).toList();
        o.put("recipients", rcpts);
        return o;
    }

    private static Map<String, Object> describe(RecipientState r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("address", r.recipient().address().toString());
        o.put("status", r.status().name().toLowerCase());
        o.put("attempts", r.attempts());
        o.put("next_attempt", r.nextAttempt() == null ? null : r.nextAttempt().toString());
        o.put("last_reply", r.lastReply());
        o.put("relay", r.relay());
        return o;
    }

    private static void respond(HttpExchange ex, int status, Object body) throws IOException {
        byte[] b = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override public void close() {
        http.stop(0);
    }
}
