package dev.postern.admin;

import dev.postern.config.ConfigLoader;
import dev.postern.queue.Queue;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.RecipientState;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** The queue in the admin API: search, a message's details and trace, and the actions, singly or by search. */
final class QueueApi {
    static final Set<String> ACTIONS = Set.of("retry", "hold", "release", "delete", "bounce");
    static final Set<String> STATUSES = Set.of("pending", "deferred", "held");
    private static final int MAX_HEADER = 64 * 1024;

    private final Queue queue;
    private final TraceLog trace;
    private final Clock clock;

    QueueApi(Queue queue, TraceLog trace, Clock clock) {
        this.queue = queue;
        this.trace = trace;
        this.clock = clock;
    }

    void register(AdminHttp http) {
        http.add("GET", "/queue", this::search);
        http.add("POST", "/queue/flush", c -> {
            queue.flush();
            AdminEndpoint.log.info("flush requested by administrator");
            c.respond(200, Map.of("result", "flushed"));
        });
        http.add("GET", "/queue/{id}", this::show);
        http.add("POST", "/queue/{id}/{action}", this::act);
        http.add("POST", "/queue/actions/{action}", this::actOnSearch);
        http.add("GET", "/trace/{id}", this::trace);
    }

    private void search(AdminHttp.Call c) throws IOException {
        Predicate<QueuedMessage> filter = filter(c);
        if (filter == null) return;
        List<Map<String, Object>> found = queue.list().stream().filter(filter).map(QueueApi::describe).toList();
        c.respond(200, Map.of("messages", found, "count", found.size()));
    }

    private void show(AdminHttp.Call c) throws IOException {
        QueuedMessage m = queue.get(c.param("id"));
        if (m == null) {
            c.error(404, "no such message: " + c.param("id"));
            return;
        }
        Map<String, Object> o = describe(m);
        var e = m.envelope();
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("helo", e.heloName());
        env.put("client_address", e.clientAddress());
        env.put("auth_user", e.authUser());
        env.put("body", e.body());
        env.put("smtputf8", e.smtpUtf8());
        env.put("ret", e.ret());
        env.put("envid", e.envid());
        env.put("requiretls", e.requireTls());
        o.put("envelope", env);
        o.put("headers", headers(m.id()));
        c.respond(200, o);
    }

    /** The header section as stored (our Received first), up to 64 KiB. */
    private String headers(String id) {
        try (InputStream in = queue.content(id)) {
            byte[] b = in.readNBytes(MAX_HEADER);
            String s = new String(b, StandardCharsets.UTF_8);
            int end = s.indexOf("\r\n\r\n");
            if (end < 0) end = s.indexOf("\n\n");
            return end < 0 ? s : s.substring(0, end + 2);
        } catch (IOException e) {
            return null; // delivered and removed meanwhile, or the store unreachable: the envelope still says much
        }
    }

    private void act(AdminHttp.Call c) throws IOException {
        String id = c.param("id"), action = c.param("action");
        if (refusedAction(c, action)) return;
        if (!apply(id, action)) c.error(404, "no such message: " + id);
        else c.respond(200, Map.of("result", action, "id", id));
    }

    /** The action on every message the search finds; an empty search must say all=true. */
    private void actOnSearch(AdminHttp.Call c) throws IOException {
        String action = c.param("action");
        if (refusedAction(c, action)) return;
        boolean searched = c.query.keySet().stream().anyMatch(k -> !k.equals("all"));
        if (!searched && !"true".equals(c.query.get("all"))) {
            c.error(400, "name a search (sender, recipient, domain, status, min_age, max_age) or all=true");
            return;
        }
        Predicate<QueuedMessage> filter = filter(c);
        if (filter == null) return;
        List<String> ids = queue.list().stream().filter(filter).map(QueuedMessage::id).toList();
        List<String> done = new ArrayList<>();
        for (String id : ids) if (apply(id, action)) done.add(id);
        AdminEndpoint.log.info("{} by administrator for {} message(s) matching {}", action, done.size(), c.query);
        c.respond(200, Map.of("result", action, "matched", ids.size(), "ids", done));
    }

    /** Answers 404 and returns true for an action there is not. */
    private static boolean refusedAction(AdminHttp.Call c, String action) throws IOException {
        if (ACTIONS.contains(action)) return false;
        c.error(404, "unknown action " + action + "; one of " + String.join(", ", new java.util.TreeSet<>(ACTIONS)));
        return true;
    }

    private boolean apply(String id, String action) throws IOException {
        return switch (action) {
            case "retry" -> queue.retry(id);
            case "hold" -> queue.hold(id);
            case "release" -> queue.release(id);
            case "delete" -> queue.delete(id);
            case "bounce" -> queue.bounce(id);
            default -> throw new IllegalArgumentException(action);
        };
    }

    private void trace(AdminHttp.Call c) throws IOException {
        String id = c.param("id");
        List<TraceRing.Event> events = trace.of(id);
        QueuedMessage m = queue.get(id);
        if (events.isEmpty() && m == null) {
            c.error(404, "nothing known of " + id + " (the trace keeps the last "
                    + (TraceLog.RING_BYTES >> 20) + " MiB of log lines since the server started, about 16,000 messages)");
            return;
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", id);
        o.put("queued", m != null);
        o.put("events", events.stream().map(e -> Map.of("at", e.at().toString(), "level", e.level(), "source", e.source(), "text", e.text())).toList());
        if (m != null) o.put("message", describe(m));
        c.respond(200, o);
    }

    /** The search in the query (all of its terms must hold), or null after answering 400. */
    private Predicate<QueuedMessage> filter(AdminHttp.Call c) throws IOException {
        Predicate<QueuedMessage> p = m -> true;
        for (Map.Entry<String, String> q : c.query.entrySet()) {
            String v = q.getValue().toLowerCase(Locale.ROOT);
            switch (q.getKey()) {
                case "sender" -> p = p.and(m -> m.envelope().sender().toString().toLowerCase(Locale.ROOT).contains(v));
                case "recipient" -> p = p.and(m -> m.recipients().stream()
                        .anyMatch(r -> r.recipient().address().toString().toLowerCase(Locale.ROOT).contains(v)));
                case "domain" -> p = p.and(m -> m.recipients().stream()
                        .anyMatch(r -> !r.isFinal() && r.recipient().address().domain().equalsIgnoreCase(v)));
                case "status" -> {
                    if (!STATUSES.contains(v)) {
                        c.error(400, "status: one of held, deferred, pending");
                        return null;
                    }
                    p = p.and(v.equals("held") ? QueuedMessage::held : m -> !m.held() && m.recipients().stream()
                            .anyMatch(r -> r.status().name().equalsIgnoreCase(v)));
                }
                case "min_age", "max_age" -> {
                    Duration d = ConfigLoader.parseDuration(v);
                    if (d == null) {
                        c.error(400, q.getKey() + ": a duration like \"30m\", \"4h\", \"2d\"");
                        return null;
                    }
                    Instant cut = clock.instant().minus(d);
                    p = p.and(q.getKey().equals("min_age") ? m -> !m.envelope().arrival().isAfter(cut) : m -> !m.envelope().arrival().isBefore(cut));
                }
                case "all" -> { }
                default -> {
                    c.error(400, "unknown search term " + q.getKey() + "; use sender, recipient, domain, status, min_age, max_age");
                    return null;
                }
            }
        }
        return p;
    }

    static Map<String, Object> describe(QueuedMessage m) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", m.id());
        o.put("size", m.size());
        o.put("arrival", m.envelope().arrival().toString());
        o.put("sender", m.envelope().sender().toString());
        o.put("held", m.held());
        o.put("recipients", m.recipients().stream().map(QueueApi::describe).toList());
        return o;
    }

    private static Map<String, Object> describe(RecipientState r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("address", r.recipient().address().toString());
        o.put("status", r.status().name().toLowerCase(Locale.ROOT));
        o.put("attempts", r.attempts());
        o.put("next_attempt", r.nextAttempt() == null ? null : r.nextAttempt().toString());
        o.put("last_reply", r.lastReply());
        o.put("relay", r.relay());
        return o;
    }
}
