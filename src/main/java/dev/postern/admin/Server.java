package dev.postern.admin;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import dev.postern.auth.Authenticator;
import dev.postern.auth.PgAccounts;
import dev.postern.auth.UserStore;
import dev.postern.config.Config;
import dev.postern.deliver.MaildirWriter;
import dev.postern.queue.FileSpool;
import dev.postern.queue.LogSpool;
import dev.postern.queue.Spool;
import dev.postern.queue.ClusterQueue;
import dev.postern.queue.PgQueueStore;
import dev.postern.queue.Queue;
import dev.postern.queue.QueueManager;
import dev.postern.store.Database;
import dev.postern.store.NodeRegistry;
import dev.postern.receive.SmtpServer;
import dev.postern.receive.TlsSetup;
import dev.postern.route.Router;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.postern.deliver.SmtpDelivery;
import dev.postern.deliver.RecipientProbe;
import dev.postern.tls.MtaSts;
import dev.postern.tls.PolicyServer;
import dev.postern.tls.TlsReports;
import dev.postern.route.ValidatedDns;
import dev.postern.filter.Srs;
import dev.postern.tls.AcmeCertificates;
import dev.postern.tls.Dane;
import dev.postern.tls.PeerVerifier;
import dev.postern.tls.TlsLevel;
import dev.postern.tls.TlsPolicy;
import dev.postern.policy.RecipientVerifier;
import dev.postern.policy.AccessTable;
import dev.postern.policy.Check;
import dev.postern.policy.AuthFailures;
import dev.postern.policy.CheckFactory;
import dev.postern.policy.Dmarc;
import dev.postern.policy.DmarcReports;
import dev.postern.policy.Spf;
import dev.postern.policy.SpfResults;
import dev.postern.message.DkimContentSigner;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimKeys;
import dev.postern.receive.AuthServices;
import dev.postern.route.Dns;
import dev.postern.policy.Phase;
import dev.postern.policy.Greylist;
import dev.postern.policy.PolicyChain;
import dev.postern.policy.PgPolicyState;
import dev.postern.policy.RateLimit;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import dev.postern.route.DnsReplay;
import dev.postern.route.DnsjavaDns;
import dev.postern.route.MxRouter;

import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.function.Predicate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** A running Postern: everything wired once, in the order the mail flows. */
public final class Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.master");

    private final Queue queue;
    private final SmtpServer smtp;
    private final java.util.concurrent.ScheduledExecutorService timer;
    private ExecutorService checks;
    private MaildirWriter maildir;
    private dev.postern.policy.RecipientVerifier verifier;
    private PolicyServer policyServer;
    private java.util.concurrent.ScheduledExecutorService acmeTimer;
    private AcmeCertificates acme;
    private Alerts alerts;

    /** [alerts], checked every minute; check() runs them now. */
    public Alerts alerts() { return alerts; }
    private TlsReports tlsReports;
    private TlsReportSender tlsrptSender;
    private dev.postern.deliver.RecipientProbe prober;
    private final SmtpDelivery outbound;
    private final AdminEndpoint admin;
    private final Spool spool;
    private final Greylist greylist;
    private final Runnable reloadTables;

    private final Database db;
    private final NodeRegistry nodes;

    private Server(Queue queue, SmtpServer smtp, java.util.concurrent.ScheduledExecutorService timer,
                   SmtpDelivery outbound, AdminEndpoint admin, Spool spool, Greylist greylist, Runnable reloadTables, Database db,
                   NodeRegistry nodes) {
        this.db = db;
        this.nodes = nodes;
        this.reloadTables = reloadTables;
        this.spool = spool;
        this.greylist = greylist;
        this.queue = queue;
        this.smtp = smtp;
        this.timer = timer;
        this.outbound = outbound;
        this.admin = admin;
    }

    public static Server start(Config config, Clock clock) throws IOException {
        TraceLog.get(); // before anything is logged, so a recovered message's trace starts with its recovery
        if (config.logFile() != null) logToFile(config);
        // before anything starts: a plugin check that cannot be had must not leave threads and open files behind
        dev.postern.policy.Plugins plugins = plugins(config);
        for (List<String> names : config.policy().phases().values()) {
            for (String n : names) {
                if (!Config.Policy.CHECKS.contains(n) && !plugins.names().contains(n)) throw new IOException(plugins.unknown(n));
            }
        }
        Config.Delivery d = config.delivery();
        Dane dane = d.usesDane() ? new Dane(new ValidatedDns(d.dnsServers(), d.dnsTimeout(), d.dnssecTrustAnchors())) : null;
        Files.createDirectories(config.dataDir());
        Database db = config.clustered() ? openDatabase(config) : null;
        UserStore users = db != null ? new UserStore(new PgAccounts(db)) : new UserStore(config.usersFile());
        Config.Recipients rc = config.recipients();
        Router router = new Router(config.domains(), rc.relayDomains(), config.aliases(), users::exists, config.hostname(), rc.delimiters());
        String stranded = dev.postern.queue.OtherStores.unserved(config.queueDir(), config.queue().store().name().toLowerCase(java.util.Locale.ROOT));
        if (stranded != null) log.warn("queue: {}", stranded);
        Spool spool = switch (config.queue().store()) {
            case LOG -> new LogSpool(config.queueDir(), clock);
            case FILES -> new FileSpool(config.queueDir(), clock);
            case POSTGRESQL -> new PgQueueStore(db, clock);
        };
        DnsjavaDns dns = new DnsjavaDns(d.dnsServers(), d.dnsTimeout());
        // sender verification and DNS checks: CPU work and waits on shared state, never a wait on the DNS
        ExecutorService checks = Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "check");
            t.setDaemon(true);
            return t;
        });
        DnsReplay lookups = new DnsReplay(dns, checks, d.dnsTimeout());
        Config.Policy pol = config.policy();
        Map<String, AccessTable> tables = new java.util.HashMap<>();
        for (var e : pol.accessFiles().entrySet()) tables.put(e.getKey(), new AccessTable(e.getValue()));
        PgPolicyState shared = db != null ? new PgPolicyState(db) : null; // a cluster counts each client once
        Greylist greylist = new Greylist(new Greylist.Settings(pol.greylistDelay(), pol.greylistRetryWindow(), pol.greylistWhitelist()),
                clock, config.dataDir().resolve("greylist.db"), shared);
        MxRouter mx = new MxRouter(dns, config.transports(), d.relayhost(),
                d.smtpPort(), config.hostname(), myself(config), new SecureRandom());
        TlsPolicy tlsPolicy = tlsPolicy(d);
        PeerVerifier peers = d.authenticatesPeers() || d.mtaSts() ? PeerVerifier.load(d.tlsCaFile()) : null;
        TlsReports tlsReports = new TlsReports(config.tlsReportsDir(), clock);
        MtaSts mtaSts = d.mtaSts() ? new MtaSts(dns, peers.clientContext(), d.mtaStsPort(), Duration.ofSeconds(30), clock,
                config.mtaStsCacheFile()) : null;
        if (mtaSts != null) mtaSts.reportTo(tlsReports);
        SmtpDelivery smtpOut = smtpDelivery(d, peers, mtaSts, tlsReports, dane);
        Config.QueueSettings qt = config.queue();
        var times = times(qt);
        MaildirWriter maildir = new MaildirWriter(config.mailboxesDir(), config.hostname(), rc.subaddressFolders(),
                rc.overQuota().equals("bounce"), rc.mailboxOwner() == null ? null : dev.postern.deliver.MailboxOwner.parse(rc.mailboxOwner()));
        QueueManager local = null;
        Queue queue;
        NodeRegistry nodes = null;
        if (db != null) {
            nodes = new NodeRegistry(db, clock);
            nodes.start();
            queue = new ClusterQueue((PgQueueStore) spool, router, maildir, mx, smtpOut, config.hostname(), clock, times,
                    config.cluster().lease(), d.destinationConcurrency(), d.maxConcurrency(), classes(qt));
        } else {
            queue = local = new QueueManager(spool, router, maildir, mx, smtpOut, config.hostname(), clock, times,
                    d.destinationConcurrency(), d.maxConcurrency(), classes(qt));
        }
        SpfResults spf = new SpfResults(new Spf(dns, config.hostname()), clock);
        AuthServices auth = authServices(config, dns, spf, clock, shared);
        if (config.auth().dkimSign()) queue.signNoticesWith(new DkimContentSigner(auth.signing(), config.domains(), clock));
        int recovered = local != null ? local.recover() : 0;
        var timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "server-timer"); // accounts, greylist file, shared policy state, DMARC sending
            t.setDaemon(true);
            return t;
        });
        // reject_unverified_recipient: probes with their own client, time-outs and threads, so a slow next hop
        // delays only the RCPTs that wait for it
        RecipientVerifier verifier = null;
        RecipientProbe prober = null;
        if (pol.phases().values().stream().anyMatch(l -> l.contains("reject_unverified_recipient"))) {
            Duration pt = rc.probeTimeout();
            prober = new RecipientProbe(mx, new SmtpDelivery(new SmtpDelivery.Settings(d.heloName(),
                    d.bindAddress() == null ? null : new InetSocketAddress(d.bindAddress(), 0), tlsPolicy, peers, mtaSts, null,
                    d.relayUser(), d.relayPasswordFile() == null ? null : Files.readString(d.relayPasswordFile()).strip(), pt, pt, pt).withDane(dane)),
                    rc.probeConcurrency(), pt, 16);
            verifier = new RecipientVerifier(router, prober::probe, clock, rc.verifyPositive(), rc.verifyNegative(), pt,
                    config.verifyCacheFile());
            RecipientVerifier v = verifier;
            timer.scheduleWithFixedDelay(v::save, 5, 5, java.util.concurrent.TimeUnit.SECONDS);
        }
        AuthFailures authFailures = new AuthFailures(pol.authFailureLimit(), pol.authFailureWindow().toMillis(), clock, shared, timer);
        Srs srs = srs(config, clock);
        if (srs != null) {
            queue.rewriteForwardedSenders(sender -> {
                if (sender.isNull()) return sender;
                String a = srs.forwardCounted(sender.address().localPart(), sender.address().domain());
                dev.postern.mail.Address rewritten = a == null ? null : dev.postern.mail.Address.parse(a, true);
                return rewritten == null ? sender : new dev.postern.mail.ReversePath(rewritten);
            });
        }
        SmtpServer smtp = new SmtpServer(config, TlsSetup.serverContext(config), new Authenticator(users), router,
                policy(config, router, dns, greylist, clock, tables, spf, authFailures, shared, verifier, plugins), queue, clock, auth, authFailures,
                ip -> lookups.run(() -> dev.postern.policy.DnsChecks.verifiedName(dns, ip)), lookups, srs);
        smtp.relayControl().fullMailboxesFrom(new dev.postern.policy.RelayControl.FullMailboxes() {
            @Override public boolean any() { return maildir.anyKnownOverQuota(); }

            @Override public boolean isFull(String mailbox) { return maildir.knownOverQuota(mailbox); }
        });
        try {
            smtp.start();
        } catch (IOException e) {
            checks.shutdown();
            queue.close();
            smtpOut.close();
            spool.close();
            if (nodes != null) nodes.close();
            if (db != null) db.close();
            throw e;
        }
        AcmeCertificates acme = acme(config, smtp, clock);
        java.util.concurrent.ScheduledExecutorService acmeTimer = null;
        if (acme != null) {
            acmeTimer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread th = new Thread(r, "acme"); // an order may take minutes: not on the shared timer
                th.setDaemon(true);
                return th;
            });
            acmeTimer.scheduleWithFixedDelay(acme::check, 0, 1, java.util.concurrent.TimeUnit.HOURS);
        }
        Config.MtaStsServe ours = config.tls().servePolicy();
        PolicyServer policyServer = null;
        if (ours != null && ours.bindHost() != null) {
            policyServer = PolicyServer.start(ours.bindHost(), ours.bindPort(), TlsSetup.pairs(config), config.domains(), ours.policyText());
        }
        log.info("daemon started: {}; hostname={}, domains={}, data={}, recovered={}", Cli.Version.describe(), config.hostname(),
                config.domains(), config.dataDir(), recovered);
        timer.scheduleWithFixedDelay(users::refreshIfChanged, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(greylist::save, 5, 5, java.util.concurrent.TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(tlsReports::save, 60, 60, java.util.concurrent.TimeUnit.SECONDS);
        if (shared != null) {
            timer.scheduleWithFixedDelay(() -> quietly("pull shared AUTH failures", authFailures::pullShared), 1, 1, java.util.concurrent.TimeUnit.SECONDS);
            long greyLife = pol.greylistDelay().plus(pol.greylistRetryWindow()).toMillis();
            timer.scheduleWithFixedDelay(() -> quietly("expire shared policy state",
                    () -> shared.expire(clock.millis(), greyLife, pol.authFailureWindow().toMillis())), 1, 60, java.util.concurrent.TimeUnit.SECONDS);
        }
        java.util.concurrent.atomic.AtomicReference<Map<String, AccessTable>> liveTables = new java.util.concurrent.atomic.AtomicReference<>(tables);
        java.util.Set<SmtpDelivery> reloadedClients = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicReference<AuthServices> liveAuth = new java.util.concurrent.atomic.AtomicReference<>(auth);
        Runnable reload = () -> {
            liveTables.get().values().forEach(AccessTable::reload);
            liveAuth.get().signing().reload();
        };
        RecipientVerifier liveVerifier = verifier;
        // a configuration reload: what shapes new sessions and new attempts is swapped in place (see Reload)
        java.util.concurrent.atomic.AtomicReference<Config> liveConfig = new java.util.concurrent.atomic.AtomicReference<>(config);
        java.util.concurrent.atomic.AtomicReference<Server> self = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.function.Function<Config, Reload.Result> apply = next -> {
            Config before = liveConfig.get();
            Map<String, AccessTable> nextTables = new java.util.HashMap<>();
            for (var e : next.policy().accessFiles().entrySet()) {
                try {
                    nextTables.put(e.getKey(), new AccessTable(e.getValue()));
                } catch (IOException ex) { // checked before anything changes: a reload is whole or not at all
                    return Reload.Result.refused(List.of("policy access file " + e.getValue() + ": " + ex.getMessage()));
                }
            }
            Config.Recipients nr = next.recipients();
            if (nr.relayRecipients() != null) {
                try {
                    dev.postern.policy.RelayControl.readRecipientList(nr.relayRecipients()); // read again by the listeners below
                } catch (IOException ex) {
                    return Reload.Result.refused(List.of("relay_recipients " + nr.relayRecipients() + ": " + ex.getMessage()));
                }
            }
            router.reconfigure(next.domains(), nr.relayDomains(), next.aliases(), before.hostname(), nr.delimiters());
            mx.reroute(next.transports(), next.delivery().relayhost());
            queue.reconfigure(times(next.queue()), classes(next.queue()));
            liveTables.set(nextTables);
            List<String> problems = new java.util.ArrayList<>();
            if (config.tls().acme() == null) {
                try {
                    smtp.useTls(TlsSetup.serverContext(next));
                } catch (IOException | RuntimeException e) {
                    problems.add("tls: " + e.getMessage() + "; the certificate in use stays");
                }
            }
            // [delivery] TLS levels, CA file, HELO name, bind address, relay credentials and [tls_policy]: new attempts
            // use a new client; running ones finish with the old one, closed once they cannot be running any more
            Config.Delivery nd = next.delivery();
            if (!nd.withRelayhost(null).equals(before.delivery().withRelayhost(null))) {
                if (nd.usesDane() && dane == null) {
                    problems.add("delivery: DANE levels need a restart (the DNSSEC validator is made at start); delivery settings unchanged");
                } else if (nd.mtaSts() && mtaSts == null) {
                    problems.add("delivery.mta_sts: turning MTA-STS on needs a restart; delivery settings unchanged");
                } else {
                    try {
                        PeerVerifier nextPeers = nd.authenticatesPeers() || nd.mtaSts() ? PeerVerifier.load(nd.tlsCaFile()) : null;
                        SmtpDelivery made = smtpDelivery(nd, nextPeers, nd.mtaSts() ? mtaSts : null, tlsReports, dane);
                        reloadedClients.add(made);
                        SmtpDelivery was = queue.useDelivery(made);
                        if (was != null && was != smtpOut) {
                            timer.schedule(() -> {
                                reloadedClients.remove(was);
                                was.close();
                            }, 15, java.util.concurrent.TimeUnit.MINUTES);
                        }
                    } catch (IOException e) {
                        problems.add("delivery: " + e.getMessage() + "; delivery settings unchanged");
                    }
                }
            }
            // [auth]: new sessions verify, sign and enforce DMARC by the new settings; results and reports go on
            AuthServices was = liveAuth.get();
            boolean sameKeys = java.util.Objects.equals(before.dkimKeyDir(), next.dkimKeyDir());
            if (sameKeys) was.signing().reload(); // keys added or replaced in the directory (a new one is read below)
            AuthServices nextAuth = new AuthServices(next.auth(), was.spf(), was.dmarc(), was.keys(),
                    sameKeys ? was.signing() : DkimKeyring.load(next.dkimKeyDir()), was.reports(), was.results());
            liveAuth.set(nextAuth);
            queue.signNoticesWith(next.auth().dkimSign() ? new DkimContentSigner(nextAuth.signing(), next.domains(), clock)
                    : dev.postern.mail.ContentSigner.NONE);
            problems.addAll(smtp.reconfigure(next, policy(next, router, dns, greylist, clock, nextTables, spf, authFailures, shared,
                    liveVerifier, plugins), nextAuth));
            try {
                users.reload();
            } catch (IOException e) {
                problems.add("accounts: " + e.getMessage() + "; the accounts in use stay");
            }
            liveConfig.set(next);
            return new Reload.Result(false, problems, List.of(), List.of()); // what changed: Server.reload compares the files
        };
        Alerts alerts = new Alerts(config.alerts(), queue, config.dataDir(), clock);
        timer.scheduleWithFixedDelay(() -> quietly("check alerts", alerts::check), 10, 60, java.util.concurrent.TimeUnit.SECONDS);
        RecipientVerifier verifierStats = verifier;
        DmarcReportSender dmarcSender = new DmarcReportSender(config, dns, queue, clock, auth.reports());
        AdminEndpoint admin = AdminEndpoint.start(new AdminEndpoint.Services(config, queue, reload, () -> {
            java.util.Map<String, Long> all = new java.util.HashMap<>(smtp.stats());
            all.putAll(queue.stats());
            all.putAll(spool.stats());
            all.putAll(maildir.stats());
            if (verifierStats != null) all.putAll(verifierStats.stats());
            all.putAll(alerts.stats());
            return all;
        }, dmarcSender, db != null ? new SharedTokens(db) : null, users, users::reload, to -> Backup.create(config, spool, to), alerts, clock,
                liveConfig::get, () -> self.get().reload()));
        if (config.auth().dmarcReportsSend()) timer.scheduleWithFixedDelay(dmarcSender::sendYesterdayOnce, 1, 10, java.util.concurrent.TimeUnit.MINUTES);
        TlsReportSender tlsrptSender = new TlsReportSender(config, dns, queue, clock,
                !d.tlsrptSend() ? null : peers != null ? peers.clientContext() : PeerVerifier.load(d.tlsCaFile()).clientContext());
        if (d.tlsrptSend()) timer.scheduleWithFixedDelay(tlsrptSender::sendYesterdayOnce, 2, 10, java.util.concurrent.TimeUnit.MINUTES);
        Server server = new Server(queue, smtp, timer, smtpOut, admin, spool, greylist, reload, db, nodes);
        server.checks = checks;
        server.maildir = maildir;
        server.policyServer = policyServer;
        server.acmeTimer = acmeTimer;
        server.acme = acme;
        server.alerts = alerts;
        server.tlsReports = tlsReports;
        server.tlsrptSender = tlsrptSender;
        server.verifier = verifier;
        server.prober = prober;
        server.running = liveConfig::get;
        server.reloadedClients = reloadedClients;
        self.set(server);
        server.applyConfig = apply;
        return server;
    }

    public SmtpServer smtp() { return smtp; }

    /** The SMTP client of delivery attempts, as [delivery] and [tls_policy] say. */
    private static SmtpDelivery smtpDelivery(Config.Delivery d, PeerVerifier peers, MtaSts mtaSts, TlsReports tlsReports, Dane dane)
            throws IOException {
        return new SmtpDelivery(new SmtpDelivery.Settings(d.heloName(),
                d.bindAddress() == null ? null : new InetSocketAddress(d.bindAddress(), 0), tlsPolicy(d), peers, mtaSts, tlsReports,
                d.relayUser(), d.relayPasswordFile() == null ? null : Files.readString(d.relayPasswordFile()).strip(),
                Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(10)).withDane(dane));
    }

    private static QueueManager.Times times(Config.QueueSettings q) {
        return new QueueManager.Times(q.minBackoff(), q.maxBackoff(), q.maxLifetime(), q.delayWarning());
    }

    /** [queue.classes] as the queue takes them (the queue does not read the configuration itself). */
    static Map<dev.postern.queue.PriorityClass, QueueManager.ClassSettings> classes(Config.QueueSettings q) {
        Map<dev.postern.queue.PriorityClass, QueueManager.ClassSettings> out = new java.util.EnumMap<>(dev.postern.queue.PriorityClass.class);
        for (dev.postern.queue.PriorityClass pc : dev.postern.queue.PriorityClass.values()) {
            Config.QueueClass qc = q.classes().get(pc.configName());
            out.put(pc, new QueueManager.ClassSettings(qc.share(), qc.minBackoff(), qc.maxBackoff()));
        }
        return out;
    }

    /** Where "reload" reads the configuration from; null: the embedded default. */
    private volatile java.nio.file.Path configFile;
    private java.util.function.Supplier<Config> running;
    private java.util.function.Function<Config, Reload.Result> applyConfig;

    /** SMTP clients made by reloads, closed at shutdown (retired ones are closed 15 minutes after their replacement). */
    private java.util.Set<SmtpDelivery> reloadedClients = java.util.Set.of();

    /** The file as read last, to tell what a reload changes. */
    private com.fasterxml.jackson.databind.JsonNode configTree;

    /** The configuration file a reload reads (serve --config). */
    public synchronized void reloadsFrom(java.nio.file.Path file) {
        configFile = file;
        configTree = dev.postern.config.ConfigLoader.tree(file);
    }

    /** The configuration in force (after the last reload). */
    public Config config() { return running.get(); }

    /**
     * Reads the configuration again and applies it (SIGHUP, "postern reload", POST /reload). A file with errors
     * changes nothing: its problems come back with file:line and the running configuration stays.
     */
    public synchronized Reload.Result reload() {
        long begun = System.nanoTime();
        Config next;
        com.fasterxml.jackson.databind.JsonNode nextTree;
        try {
            if (configFile == null) {
                next = dev.postern.config.ConfigLoader.embeddedDefault(false);
                nextTree = dev.postern.config.ConfigLoader.tree(null);
            } else {
                var read = dev.postern.config.ConfigLoader.read(configFile, false); // the tree compared is the file applied
                next = read.config();
                nextTree = read.tree();
            }
        } catch (dev.postern.config.ConfigException e) {
            log.warn("reload refused, the running configuration stays: {}", String.join("; ", e.problems()));
            return Reload.Result.refused(e.problems());
        }
        Reload.Result r = applyConfig.apply(next);
        if (r.refused()) {
            log.warn("reload refused, the running configuration stays: {}", String.join("; ", r.problems()));
            return r;
        }
        List<String> applied = new java.util.ArrayList<>(Reload.applied(configTree, nextTree));
        applied.add("tls certificates (read again)");
        applied.add("accounts (read again)");
        r = new Reload.Result(false, r.problems(), applied, Reload.needRestart(configTree, nextTree));
        configTree = nextTree;
        log.info("configuration reloaded from {} in {} ms: applied {}{}{}", configFile == null ? "the embedded default" : configFile,
                (System.nanoTime() - begun) / 1_000_000, r.applied(),
                r.needRestart().isEmpty() ? "" : "; needs a restart to change: " + r.needRestart(),
                r.problems().isEmpty() ? "" : "; problems: " + r.problems());
        return r;
    }

    /** The admin endpoint (its routes, its port), for tests of the API. */
    AdminEndpoint admin() { return admin; }

    /** Re-reads the policy's allow/block list files (SIGHUP, or POST /policy/reload on the admin endpoint). */
    public void reloadTables() { reloadTables.run(); }

    public Queue queue() { return queue; }

    /** The [cluster] database, checked to have exactly this code's schema; refuses to start otherwise. */
    private static Database openDatabase(Config config) throws IOException {
        Database db = Database.open(config.cluster(), 64);
        try {
            db.checkSchema();
        } catch (Database.SchemaMismatch e) {
            db.close();
            throw new IOException(e.getMessage());
        }
        return db;
    }

    /** Sends yesterday's TLS reports now if they were not sent yet (otherwise every 10 minutes with tlsrpt_send). */
    public void sendTlsReportsOnce() {
        tlsReports.save();
        tlsrptSender.sendYesterdayOnce();
    }

    /** Writes the TLS-RPT counts now (they are written every minute and at shutdown anyway). */
    public void saveTlsReports() { tlsReports.save(); }

    /** The HTTPS server of our MTA-STS policy, or null when [mta_sts] bind is not set. */
    public PolicyServer policyServer() { return policyServer; }

    @Override public void close() {
        if (acmeTimer != null) acmeTimer.shutdownNow();
        if (policyServer != null) policyServer.close();
        admin.close();
        timer.shutdownNow();
        smtp.close();
        checks.shutdown();
        queue.close();
        maildir.close();
        outbound.close();
        reloadedClients.forEach(SmtpDelivery::close);
        spool.close();
        greylist.save();
        tlsReports.save();
        if (prober != null) prober.close();
        if (verifier != null) verifier.save();
        if (nodes != null) nodes.close();
        if (db != null) db.close();
    }

    /** The configured checks of each phase, built by name. */
    /** Runs a periodic task; a failure (the database away) is logged and the next run tries again. */
    private static void quietly(String what, Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.warn("cannot {}: {}", what, e.getMessage());
        }
    }

    static PolicyChain policy(Config config, Router router, DnsjavaDns dns, Greylist greylist, Clock clock,
                              Map<String, AccessTable> tables, SpfResults spf, AuthFailures authFailures, PgPolicyState shared,
                              RecipientVerifier verifier, dev.postern.policy.Plugins plugins) {
        Config.Policy p = config.policy();
        CheckFactory f = new CheckFactory(router, config.relayNetworks(), p.clientAccess(), dns, p.dnsblZones(), p.dnsblThreshold(),
                greylist, new RateLimit(p.connectionsPerMinute(), p.recipientsPerMinute(), p.messagesPerMinute(), clock, shared), p.senderDbl(), tables, spf,
                authFailures).withVerifier(verifier).withPlugins(plugins);
        Map<Phase, List<Check>> phases = new EnumMap<>(Phase.class);
        p.phases().forEach((phase, names) -> phases.put(Phase.valueOf(phase.toUpperCase(java.util.Locale.ROOT)),
                names.stream().map(f::create).toList()));
        return new PolicyChain(phases, p.warnOnly());
    }

    /** The checks the [plugins] jars offer (none without [plugins]). */
    static dev.postern.policy.Plugins plugins(Config config) throws IOException {
        Config.Plugins p = config.plugins();
        if (p == null) return dev.postern.policy.Plugins.NONE;
        return dev.postern.policy.Plugins.load(p.dir(), p.settings(), Config.Policy.CHECKS);
    }

    /** SPF, DKIM and DMARC for received mail, and the DKIM keys that sign ours. */
    static AuthServices authServices(Config config, Dns dns, SpfResults spf, Clock clock, PgPolicyState shared) {
        Config.Auth a = config.auth();
        DkimKeys.Resolver keys = name -> {
            Dns.Answer<String> r = dns.txt(name);
            return switch (r.status()) {
                case OK -> new DkimKeys.Lookup(DkimKeys.Lookup.Status.OK, r.values());
                case TEMPFAIL -> new DkimKeys.Lookup(DkimKeys.Lookup.Status.TEMPFAIL, List.of());
                default -> new DkimKeys.Lookup(DkimKeys.Lookup.Status.NOT_FOUND, List.of());
            };
        };
        return new AuthServices(a, spf, new Dmarc(dns, () -> java.util.concurrent.ThreadLocalRandom.current().nextInt(100)), keys,
                DkimKeyring.load(config.dkimKeyDir()), new DmarcReports(config.dmarcDir(), clock, shared));
    }

    /**
     * [tls] acme_*: the listeners' certificate from an ACME CA, ordered at start when there is none (the
     * self-signed one serves meanwhile) and checked hourly for renewal.
     */
    private static AcmeCertificates acme(Config config, SmtpServer smtp, Clock clock) throws IOException {
        Config.Acme a = config.tls().acme();
        if (a == null) return null;
        javax.net.ssl.SSLContext directoryTls = a.caFile() == null ? null : PeerVerifier.load(a.caFile()).clientContext();
        return new AcmeCertificates(new AcmeCertificates.Settings(a.directory(), a.email(), a.domains(),
                new InetSocketAddress(a.httpBind(), a.httpPort()), directoryTls, a.renewBefore()), config.acmeDir(), clock,
                (cert, key) -> {
                    try {
                        smtp.useTls(TlsSetup.context(cert, key));
                        log.info("listeners use the new certificate {} for new connections", cert);
                    } catch (IOException e) {
                        log.warn("cannot use the new certificate {}: {}", cert, e.getMessage());
                    }
                });
    }

    /**
     * [srs]: the secrets from secret_file (one per line, the first signs; postsrsd's format), or from
     * {@code <data_dir>/srs.secret}, made with 32 random bytes on first start. Our own domains are never rewritten.
     */
    static Srs srs(Config config, Clock clock) throws IOException {
        Config.Srs c = config.srs();
        if (c == null) return null;
        Path file = c.secretFile() != null ? c.secretFile() : config.dataDir().resolve("srs.secret");
        if (c.secretFile() == null && !Files.exists(file)) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            dev.postern.store.StateFiles.replacePrivate(file, (java.util.Base64.getEncoder().encodeToString(random) + "\n").getBytes());
            log.info("made a new SRS secret in {}", file);
        }
        List<String> secrets = Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
        if (secrets.isEmpty()) throw new IOException("srs.secret_file " + file + " holds no secret");
        java.util.Set<String> exclude = new java.util.HashSet<>(c.excludeDomains());
        exclude.addAll(config.domains()); // SPF already names us for our own domains
        return new Srs(secrets, c.domain(), exclude, (int) c.maxAge().toDays(), clock);
    }

    /** Runs the ACME renewal check now (it runs at start and hourly anyway); null when ACME is not configured. */
    public AcmeCertificates acme() { return acme; }

    /** The configured levels in the tls package's terms (config knows names only). */
    static TlsPolicy tlsPolicy(Config.Delivery d) {
        Map<String, TlsLevel> per = new java.util.HashMap<>();
        d.tlsPolicy().forEach((domain, mode) -> per.put(domain, TlsLevel.valueOf(mode.name())));
        return new TlsPolicy(TlsLevel.valueOf(d.tls().name()), Map.copyOf(per));
    }

    /** Whether an address and port is one of our own listeners: MX hosts that lead back here are loops. */
    static Predicate<InetSocketAddress> myself(Config config) {
        return target -> config.listeners().stream().anyMatch(l -> {
            if (l.port() != target.getPort()) return false;
            try {
                InetAddress bound = InetAddress.getByName(l.host());
                if (bound.isAnyLocalAddress()) {
                    return target.getAddress().isLoopbackAddress() || NetworkInterface.getByInetAddress(target.getAddress()) != null;
                }
                return bound.equals(target.getAddress());
            } catch (IOException e) {
                return false;
            }
        });
    }

    /**
     * A message's lines may come from two nodes: each names its node ("... INFO  node=mx1 queue: ID: ..."). Called
     * by serve, once per process (in-process test servers share one logging context and leave it alone).
     */
    static void nameNodeInLogs(String node) {
        LoggerContext lc = (LoggerContext) LoggerFactory.getILoggerFactory();
        var root = lc.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (var it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (!(it.next() instanceof ch.qos.logback.core.OutputStreamAppender<ILoggingEvent> app)) continue;
            PatternLayoutEncoder enc = new PatternLayoutEncoder();
            enc.setContext(lc);
            enc.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level node=" + node + " %logger{0}: %msg%n");
            enc.start();
            app.setEncoder(enc);
        }
    }

    private static void logToFile(Config config) {
        LoggerContext lc = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(lc);
        enc.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level " + (config.clustered() ? "node=" + config.cluster().nodeName() + " " : "")
                + "%logger{0}: %msg%n");
        enc.start();
        FileAppender<ILoggingEvent> app = new StdoutAppender.ToFile();
        app.setContext(lc);
        app.setFile(config.logFile().toString());
        app.setEncoder(enc);
        app.start();
        lc.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(app);
    }
}
