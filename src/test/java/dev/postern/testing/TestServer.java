package dev.postern.testing;

import dev.postern.admin.Server;
import dev.postern.auth.UserStore;
import dev.postern.config.Config;
import dev.postern.config.Config.Kind;
import dev.postern.config.Config.Limits;
import dev.postern.mail.Cidr;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** A real Postern on loopback ports chosen by the OS, with its data in a temporary directory. */
public final class TestServer implements AutoCloseable {
    public static final String PASSWORD = "correct horse battery staple";

    public final Path dir;
    public final Config config;
    public final Server server;

    private TestServer(Path dir, Config config, Server server) {
        this.dir = dir;
        this.config = config;
        this.server = server;
    }

    public static Builder builder() { return new Builder(); }

    public int port(String listener) { return server.smtp().boundPort(listener); }

    public int smtp() { return port("smtp"); }

    public int submission() { return port("submission"); }

    public int smtps() { return port("smtps"); }

    public Path maildir(String address) {
        int at = address.indexOf('@');
        return config.mailboxesDir().resolve(address.substring(at + 1)).resolve(address.substring(0, at)).resolve("Maildir");
    }

    /** Message files in a mailbox's new/ directory, waiting up to 10 s for at least {@code atLeast}. */
    public List<Path> awaitMail(String address, int atLeast) throws Exception {
        Path dirNew = maildir(address).resolve("new");
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            List<Path> files = Files.isDirectory(dirNew) ? list(dirNew) : List.of();
            if (files.size() >= atLeast || System.currentTimeMillis() > deadline) return files;
            Thread.sleep(20);
        }
    }

    public static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** Relays one short message from alice@example.test to this address through the smtp listener (relay_networks must allow it). */
    public void relay(String to) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(smtp())) {
            String r = c.sendMail("alice@example.test", to, "Subject: to " + to);
            if (!r.startsWith("250")) throw new AssertionError("not accepted: " + r);
        }
    }

    /** The last reply recorded for a queued recipient, waiting up to 10 s for one; null if none came. */
    public String awaitLastReply(String to) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            for (dev.postern.queue.QueuedMessage m : server.queue().list()) {
                var r = m.recipients().get(0);
                if (r.recipient().address().toString().equals(to) && r.lastReply() != null) return r.lastReply();
            }
            Thread.sleep(20);
        }
        return null;
    }

    /** Waits until the delivery workers have nothing in flight. */
    /** The admin endpoint's /metrics text. */
    public String metrics() throws Exception {
        String port = Files.readString(config.adminPortFile()).strip();
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    public void awaitQueueIdle() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (server.queue().pending() > 0 && System.currentTimeMillis() < deadline) Thread.sleep(10);
    }

    /** Stops the server but keeps its data, for restart tests. */
    public void stop() {
        server.close();
    }

    @Override public void close() throws IOException {
        server.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }

    public static final class Builder {
        private Set<String> domains = Set.of("example.test");
        private final Map<String, List<String>> aliases = new LinkedHashMap<>();
        private final List<String> users = new ArrayList<>(List.of("alice@example.test", "bob@example.test"));
        private List<Cidr> relayNetworks = List.of();
        private long maxSize = 1_000_000;
        private int maxRecipients = 100;
        private int maxConnections = 1000;
        private int maxPerIp = 100;
        private Duration commandTimeout = Duration.ofMinutes(5);
        private Duration dataTimeout = Duration.ofMinutes(3);
        private String hostname = "mx.example.test";
        private String listenHost = "127.0.0.1";
        private Clock clock = Clock.systemUTC();
        private Config.Delivery delivery = Config.Delivery.defaults("mx.example.test");
        private final Map<String, dev.postern.mail.Nexthop> transports = new LinkedHashMap<>();
        private Config.QueueSettings queueSettings = Config.QueueSettings.DEFAULT;
        private Config.Policy policy = Config.Policy.DEFAULT;
        /** Verification is off unless a test turns it on: with no DNS server given it would ask the system resolver. */
        private Config.Auth auth;
        private Path dir;
        private boolean createUsers = true;
        private Config.Cluster cluster;
        private List<Cidr> proxyFrom = List.of();
        private Config.Recipients recipients = Config.Recipients.DEFAULT;
        private Config.Milter milter;
        private Config.Srs srs;
        private Config.Alerts alerts = Config.Alerts.DEFAULT;
        private Config.Tls tls = new Config.Tls(null, null);
        private int smtpPort = 0;
        private List<String> consoleUsers = List.of();
        private String adminHost = "127.0.0.1";

        public Builder hostname(String h) { hostname = h; delivery = Config.Delivery.defaults(h); return this; }
        public Builder listenOn(String host) { listenHost = host; return this; }
        public Builder clock(Clock c) { clock = c; return this; }
        public Builder delivery(Config.Delivery d) { delivery = d; return this; }
        public Builder transport(String domain, String nexthop) { transports.put(domain, dev.postern.mail.Nexthop.parse(nexthop, 25)); return this; }
        public Builder queueSettings(Config.QueueSettings t) { queueSettings = t; return this; }
        public Builder policy(Config.Policy p) { policy = p; return this; }
        public Builder auth(Config.Auth a) { auth = a; return this; }
        /** Reuses the data of an earlier (stopped) server: a restart. */
        /** The smtp listener takes the PROXY protocol from these balancer networks. */
        public Builder proxyProtocolFrom(String... cidrs) { proxyFrom = Stream.of(cidrs).map(Cidr::parse).toList(); return this; }
        /** A cluster node: queue and shared state in this [cluster]'s database (migrated by the caller). */
        public Builder cluster(Config.Cluster c) { cluster = c; return this; }
        public Builder recipients(Config.Recipients r) { recipients = r; return this; }
        public Builder tls(Path cert, Path key) { tls = new Config.Tls(cert, key, tls.servePolicy(), tls.more(), tls.acme()); return this; }
        public Builder moreCertificates(Config.CertPair... pairs) { tls = new Config.Tls(tls.cert(), tls.key(), tls.servePolicy(), List.of(pairs), tls.acme()); return this; }
        public Builder serveMtaSts(Config.MtaStsServe policy) { tls = new Config.Tls(tls.cert(), tls.key(), policy, tls.more(), tls.acme()); return this; }
        public Builder milter(Config.Milter m) { milter = m; return this; }
        public Builder srs(Config.Srs s) { srs = s; return this; }
        public Builder alerts(Config.Alerts a) { alerts = a; return this; }
        public Builder acme(Config.Acme a) { tls = tls.withAcme(a); return this; }
        public Builder smtpPort(int port) { smtpPort = port; return this; }
        public Builder consoleUsers(String... users) { consoleUsers = List.of(users); return this; }
        /** The admin endpoint's address; other than 127.0.0.1 or ::1 it serves HTTPS only. */
        public Builder adminHost(String host) { adminHost = host; return this; }
        public Builder restartIn(Path existing) { dir = existing; createUsers = false; return this; }

        public Builder domains(String... d) { domains = Set.of(d); return this; }
        public Builder alias(String from, String... to) { aliases.put(from, List.of(to)); return this; }
        public Builder user(String u) { users.add(u); return this; }
        public Builder relayNetworks(String... cidrs) { relayNetworks = Stream.of(cidrs).map(Cidr::parse).toList(); return this; }
        public Builder maxSize(long n) { maxSize = n; return this; }
        public Builder maxRecipients(int n) { maxRecipients = n; return this; }
        public Builder maxConnections(int total, int perIp) { maxConnections = total; maxPerIp = perIp; return this; }
        public Builder timeouts(Duration command, Duration data) { commandTimeout = command; dataTimeout = data; return this; }

        public TestServer start() throws Exception {
            Path dir = this.dir != null ? this.dir : Files.createTempDirectory("postern-test");
            Config c = new Config(hostname, dir.resolve("data"), domains, relayNetworks,
                    List.of(new Config.Listener("smtp", listenHost, smtpPort, Kind.SMTP, proxyFrom),
                            new Config.Listener("submission", listenHost, 0, Kind.SUBMISSION),
                            new Config.Listener("smtps", listenHost, 0, Kind.SMTPS)),
                    tls,
                    new Limits(maxSize, maxRecipients, maxConnections, maxPerIp, commandTimeout, dataTimeout),
                    aliases, dir.resolve("data/users"), null, delivery, transports, queueSettings, new Config.Admin(adminHost, 0, consoleUsers), policy,
                    auth != null ? auth : Config.Auth.defaults(hostname).withVerify(false)).withCluster(cluster).withRecipients(recipients)
                    .withMilter(milter).withSrs(srs).withAlerts(alerts);
            if (createUsers && cluster != null) {
                try (dev.postern.store.Database db = dev.postern.store.Database.open(cluster, 2)) {
                    db.checkSchema();
                    UserStore store = new UserStore(new dev.postern.auth.PgAccounts(db));
                    for (String u : users) if (!store.exists(u)) store.put(u, PASSWORD);
                } catch (dev.postern.store.Database.SchemaMismatch e) {
                    // no accounts to add: the server below refuses to start, which is what such a test wants to see
                }
            } else if (createUsers) {
                UserStore store = new UserStore(c.usersFile());
                for (String u : users) store.put(u, PASSWORD);
            }
            return new TestServer(dir, c, Server.start(c, clock));
        }
    }
}
