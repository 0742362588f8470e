package dev.postern.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.postern.auth.UserStore;
import dev.postern.config.Config;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimSigner;
import dev.postern.queue.Queue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The admin endpoint: the HTTP API behind "postern queue|trace|backup|user" (Postfix's postqueue/postsuper
 * over HTTP), described by src/main/resources/openapi.json (served at /openapi.json). Loopback by default.
 * Every request but /metrics and /openapi.json carries a bearer token: this node's, from
 * {@code <data_dir>/admin.token} (mode 0600, so only users who can read the data directory manage the
 * server), or in a cluster any node's. The bound port is written to admin.port.
 */
final class AdminEndpoint implements AutoCloseable {
    /** An action that may fail reading files or the database. */
    interface IoAction {
        void run() throws IOException;
    }

    /** Writes a backup to the file; returns how long it took in ms. */
    interface BackupAction {
        long to(Path file) throws IOException;
    }

    /** What the API acts on. shared: in a cluster, the other nodes' tokens (null: only this node's). */
    record Services(Config config, Queue queue, Runnable reloadTables, Supplier<Map<String, Long>> metrics,
                    DmarcReportSender dmarc, SharedTokens shared, UserStore users, IoAction reloadUsers,
                    BackupAction backup, Alerts alerts, Clock clock, Supplier<Config> current, Supplier<Reload.Result> reload) {}

    static final Logger log = LoggerFactory.getLogger("postern.admin");

    private final HttpServer http;
    private final AdminHttp routes = new AdminHttp();
    private final byte[] token;
    private final SharedTokens shared;
    private final Supplier<Map<String, Long>> metrics;
    private final Console console;
    private final MetricsHistory history;
    private final java.util.concurrent.ScheduledExecutorService sampler;

    private AdminEndpoint(HttpServer http, byte[] token, Services s) {
        this.http = http;
        this.token = token;
        this.shared = s.shared();
        this.metrics = s.metrics();
        this.console = new Console(s.users() == null ? null : new dev.postern.auth.Authenticator(s.users()), s.config().admin().users(),
                token, !s.config().admin().loopback(), s.clock());
        this.history = new MetricsHistory(s.metrics(), s.clock());
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "admin-history");
            t.setDaemon(true);
            return t;
        });
        long toNextMinute = 60_000 - s.clock().millis() % 60_000;
        sampler.scheduleAtFixedRate(() -> {
            try {
                history.sample();
            } catch (RuntimeException e) {
                log.warn("cannot sample the metrics for the console: {}", e.toString());
            }
        }, toNextMinute, 60_000, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    static AdminEndpoint start(Services s) throws IOException {
        Config config = s.config();
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
        writePrivate(config.adminTokenFile(), token + "\n");
        if (s.shared() != null) s.shared().register(config.cluster().nodeName(), token);
        InetSocketAddress bind = new InetSocketAddress(config.admin().host(), config.admin().port());
        HttpServer http;
        if (config.admin().loopback()) {
            http = HttpServer.create(bind, 16);
        } else {
            // beyond loopback: HTTPS only, with the listeners' certificate(s)
            com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(bind, 16);
            https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(
                    dev.postern.tls.PolicyServer.context(dev.postern.receive.TlsSetup.pairs(config))));
            http = https;
        }
        AdminEndpoint a = new AdminEndpoint(http, token.getBytes(StandardCharsets.US_ASCII), s);
        a.register(s);
        http.createContext("/", a::dispatch);
        http.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "admin-http");
            t.setDaemon(true);
            return t;
        }));
        http.start();
        writePrivate(config.adminPortFile(), http.getAddress().getPort() + "\n");
        log.info("admin endpoint on {}://{}:{} (console at /console/)", config.admin().loopback() ? "http" : "https",
                config.admin().host(), http.getAddress().getPort());
        return a;
    }

    /** Every route the endpoint serves, for the check against the OpenAPI description. */
    List<AdminHttp.Route> routes() { return routes.routes(); }

    int port() { return http.getAddress().getPort(); }

    private void register(Services s) {
        new QueueApi(s.queue(), TraceLog.get(), s.clock()).register(routes);
        new AccountsApi(s.current(), s.users(), s.reloadUsers()).register(routes);
        console.register(routes);
        routes.add("GET", "/stats/history", c -> c.respond(200, history.view()));
        routes.addOpen("GET", "/metrics", this::metrics);
        routes.addOpen("GET", "/openapi.json", c -> {
            try (InputStream in = AdminEndpoint.class.getResourceAsStream("/openapi.json")) {
                AdminHttp.respond(c.exchange, 200, "application/json", in.readAllBytes());
            }
        });
        routes.add("GET", "/metrics/values", c -> c.respond(200, new TreeMap<>(s.metrics().get())));
        routes.add("POST", "/policy/reload", c -> {
            s.reloadTables().run();
            c.respond(200, Map.of("result", "reloaded"));
        });
        routes.add("GET", "/alerts", c -> c.respond(200, Map.of("alerts", s.alerts() == null ? List.of() : s.alerts().current())));
        routes.add("GET", "/domains", c -> {
            Map<String, Object> o = new LinkedHashMap<>();
            Config now = s.current().get();
            o.put("hostname", now.hostname());
            o.put("domains", new java.util.TreeSet<>(now.domains()));
            o.put("relay_domains", new java.util.TreeSet<>(now.recipients().relayDomains()));
            o.put("aliases", new TreeMap<>(now.aliases()));
            c.respond(200, o);
        });
        routes.add("GET", "/dkim", c -> c.respond(200, Map.of("keys", dkimKeys(s.current().get()))));
        // "postern reload", as SIGHUP: the whole configuration read again and applied, or refused with file:line
        routes.add("POST", "/reload", c -> {
            Reload.Result r = s.reload().get();
            if (r.refused()) {
                c.respond(400, Map.of("error", "the configuration has errors; the running one stays", "problems", r.problems()));
            } else {
                c.respond(200, Map.of("result", "reloaded", "applied", r.applied(), "need_restart", r.needRestart(), "problems", r.problems()));
            }
        });
        // "postern backup --to FILE": a consistent copy of the queue and the state, the server running on
        routes.add("POST", "/backup", c -> {
            String to = c.query.get("to");
            if (to == null || to.isEmpty()) {
                c.error(400, "name the file: /backup?to=PATH");
                return;
            }
            Path file = Path.of(to);
            if (!file.isAbsolute()) {
                c.error(400, "the backup file must be an absolute path");
                return;
            }
            try {
                long ms = s.backup().to(file);
                log.info("backup written to {} in {} ms", file, ms);
                c.respond(200, Map.of("result", file.toString(), "millis", ms));
            } catch (IOException e) {
                log.warn("backup to {} failed: {}", file, e.toString());
                c.error(500, "backup failed: " + e.getMessage());
            }
        });
        routes.add("GET", "/dmarc/summary", c -> {
            int days;
            try {
                days = Integer.parseInt(c.query.getOrDefault("days", "7"));
            } catch (NumberFormatException e) {
                days = -1;
            }
            if (days < 1 || days > 366) {
                c.error(400, "days: 1 to 366");
                return;
            }
            List<Map<String, Object>> out = new ArrayList<>();
            var today = java.time.LocalDate.now(s.clock().withZone(java.time.ZoneOffset.UTC));
            for (var e : dev.postern.policy.DmarcSummary.of(s.dmarc().rows(), today, days).entrySet()) {
                out.add(Map.of("day", e.getKey().toString(), "domains", e.getValue().stream().map(d -> Map.of("domain", d.domain(),
                        "messages", d.messages(), "pass", d.pass(), "fail", d.fail(), "quarantined", d.quarantined(), "rejected", d.rejected())).toList()));
            }
            c.respond(200, Map.of("days", out));
        });
        routes.add("POST", "/dmarc/send", c -> {
            java.time.LocalDate day;
            try {
                String d = c.query.get("day");
                day = d != null ? java.time.LocalDate.parse(d) : java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(1);
            } catch (java.time.format.DateTimeParseException e) {
                c.error(400, "day must be YYYY-MM-DD");
                return;
            }
            List<String> lines = s.dmarc().send(day);
            lines.forEach(l -> log.info("dmarc report {}: {}", day, l));
            c.respond(200, Map.of("result", lines));
        });
    }

    /** The signing keys and the TXT record each needs, as "postern dns-records" prints them. */
    private static List<Map<String, String>> dkimKeys(Config config) {
        List<Map<String, String>> out = new ArrayList<>();
        DkimKeyring ring = DkimKeyring.load(config.dkimKeyDir());
        for (String d : new java.util.TreeSet<>(config.domains())) {
            for (DkimSigner.Key k : ring.forDomain(d)) {
                Map<String, String> o = new LinkedHashMap<>();
                o.put("domain", d);
                o.put("selector", k.selector());
                o.put("algorithm", k.privateKey().getAlgorithm().equals("RSA") ? "rsa" : "ed25519");
                o.put("name", k.selector() + "._domainkey." + d);
                try {
                    o.put("record", DnsRecordsCommand.dkimRecord(k.privateKey()));
                } catch (Exception e) {
                    o.put("record", null);
                }
                out.add(o);
            }
        }
        return out;
    }

    private void dispatch(HttpExchange ex) throws IOException {
        try (ex) {
            AdminHttp.Found f = routes.find(ex.getRequestMethod(), ex.getRequestURI().getPath());
            if (f.route() == null) {
                AdminHttp.respond(ex, f.status(), Map.of("error", (f.status() == 405 ? "method not allowed: " : "unknown request ")
                        + ex.getRequestMethod() + " " + ex.getRequestURI().getPath()));
                return;
            }
            if (!f.route().open() && refused(ex)) return;
            try {
                f.route().handler().handle(new AdminHttp.Call(ex, f.params()));
            } catch (java.io.UncheckedIOException e) {
                // the queue's store is out of reach (a cluster's database down): say so instead of hanging up
                AdminHttp.respond(ex, 503, Map.of("error", "queue unavailable: " + e.getCause().getMessage()));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                AdminHttp.respond(ex, 400, Map.of("error", "the body is not JSON: " + e.getOriginalMessage()));
            } catch (IOException e) {
                AdminHttp.respond(ex, 500, Map.of("error", e.getMessage() == null ? e.toString() : e.getMessage()));
            }
        } catch (RuntimeException e) {
            log.error("admin request failed", e);
        }
    }

    /** Prometheus text format; no token, like most metrics endpoints (this one listens on loopback by default). */
    private void metrics(AdminHttp.Call c) throws IOException {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(metrics.get()).forEach((k, v) -> sb.append(k).append(' ').append(v).append('\n'));
        AdminHttp.respond(c.exchange, 200, "text/plain; version=0.0.4", sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Answers 401 and returns true unless the request carries an admin token. */
    private boolean refused(HttpExchange ex) throws IOException {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim().getBytes(StandardCharsets.US_ASCII) : new byte[0];
        if (MessageDigest.isEqual(given, token)) return false;
        if (auth == null && console.admits(ex)) return false;
        if (shared != null && given.length > 0 && shared.accepts(new String(given, StandardCharsets.US_ASCII))) return false;
        AdminHttp.respond(ex, 401, Map.of("error", "missing or wrong admin token"));
        return true;
    }

    /** Writes a file only its owner may read (mode 0600), whole or not at all. */
    static void writePrivate(Path file, String content) throws IOException {
        dev.postern.store.StateFiles.replacePrivate(file, content.getBytes(StandardCharsets.UTF_8));
    }

    @Override public void close() {
        sampler.shutdownNow();
        http.stop(0);
    }
}
