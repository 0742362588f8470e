package dev.postern.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.postern.config.Config.Kind;
import dev.postern.config.Config.Limits;
import dev.postern.config.Config.Listener;
import dev.postern.mail.Address;
import dev.postern.mail.Cidr;
import dev.postern.mail.Domains;
import dev.postern.mail.Nexthop;

import java.net.InetSocketAddress;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and validates a TOML configuration, or builds the embedded default. */
public final class ConfigLoader {

    // the defaults and their reasons: Keys
    static final Limits DEFAULT_LIMITS = new Limits(Keys.MAX_MESSAGE_SIZE.defaultValue(), Keys.MAX_RECIPIENTS.defaultValue(),
            Keys.MAX_CONNECTIONS.defaultValue(), Keys.MAX_CONNECTIONS_PER_IP.defaultValue(), Keys.COMMAND_TIMEOUT.defaultValue(),
            Keys.DATA_TIMEOUT.defaultValue());

    private final String source;
    private final KeyLines keyLines;
    private final Path baseDir;
    private final List<String> problems = new ArrayList<>();

    private ConfigLoader(String source, KeyLines keyLines, Path baseDir) {
        this.source = source;
        this.keyLines = keyLines;
        this.baseDir = baseDir;
    }

    /** The embedded default: loopback only, domain localhost, data under ./postern-data. */
    public static Config embeddedDefault(boolean probePorts) throws ConfigException {
        Path data = Path.of("postern-data").toAbsolutePath();
        if (probePorts) {
            ConfigLoader l = new ConfigLoader("(embedded default)", new KeyLines(List.of()), data);
            l.probePorts(defaultListeners());
            if (!l.problems.isEmpty()) throw new ConfigException(l.problems);
        }
        // the compact form leaves verification off: this listens on loopback only, so nothing from other hosts
        // arrives to verify, and a trial on a machine without network must not wait on DNS time-outs
        return new Config(systemHostname(), data, Set.of("localhost"), List.of(), defaultListeners(),
                new Config.Tls(null, null), DEFAULT_LIMITS, Map.of(), data.resolve("users"), null);
    }

    /** The file as a TOML tree, for comparing two versions of it (a reload); empty when there is no file or it cannot be read. */
    public static JsonNode tree(Path file) {
        if (file == null) return new TomlMapper().createObjectNode();
        try {
            return new TomlMapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new TomlMapper().createObjectNode();
        }
    }

    public static Config load(Path file, boolean probePorts) throws ConfigException { return read(file, probePorts).config(); }

    /** A configuration and the TOML it was built from (a reload compares the trees of two versions of the file). */
    public record Read(Config config, JsonNode tree) {}

    /** {@link #load}, keeping the parsed tree: one read of the file for both. */
    public static Read read(Path file, boolean probePorts) throws ConfigException {
        List<String> text;
        try {
            text = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(List.of(file + ": cannot read: " + e.getMessage()));
        }
        JsonNode root;
        try {
            root = new TomlMapper().readTree(String.join("\n", text));
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new ConfigException(List.of(file + ":" + line + ": TOML syntax error: " + e.getOriginalMessage()));
        }
        Path base = file.toAbsolutePath().getParent();
        ConfigLoader l = new ConfigLoader(file.toString(), new KeyLines(text), base);
        Config c = l.build(root);
        if (probePorts && l.problems.isEmpty()) l.probePorts(c.listeners());
        if (!l.problems.isEmpty()) throw new ConfigException(l.problems);
        return new Read(c, root);
    }

    private Config build(JsonNode root) {
        unknownKeys(root, "", Keys.TOP);
        String hostname = get(root, Keys.HOSTNAME, Keys.HOSTNAME.path(), systemHostname());
        if (hostname != null && !Domains.isValid(hostname, false)) problem("hostname", "not a valid host name: " + hostname);
        Path dataDir = path(root, Keys.DATA_DIR);
        Set<String> domains = domains(root);
        List<Cidr> networks = networks(root);
        List<Listener> listeners = listeners(root);
        Config.Tls tls = tls(root);
        tls = new Config.Tls(tls.cert(), tls.key(), mtaStsServe(root, hostname), tls.more(), acme(root.get("tls"), hostname, tls));
        Limits limits = limits(root);
        Map<String, List<String>> aliases = aliases(root, domains);
        Path users = root.has(Keys.USERS_FILE.name()) ? path(root, Keys.USERS_FILE) : dataDir.resolve("users");
        Path log = path(root, Keys.LOG_FILE);
        Config.Delivery delivery = delivery(root, hostname);
        delivery = delivery.withTls(delivery.tls(), delivery.tlsCaFile(), tlsPolicy(root));
        Map<String, Nexthop> transports = transports(root, delivery.smtpPort());
        Config.Cluster cluster = cluster(root, hostname);
        Config.QueueSettings queue = queueSettings(root, cluster != null);
        return new Config(hostname, dataDir, domains, networks, listeners, tls, limits, aliases, users, log,
                delivery, transports, queue, admin(root), policy(root), auth(root, hostname, domains), cluster,
                recipients(root, domains), milter(root), srs(root, domains), plugins(root), alerts(root));
    }

    /** [alerts]: thresholds; every key optional. */
    private Config.Alerts alerts(JsonNode root) {
        JsonNode n = root.get("alerts");
        if (n != null) unknownKeys(n, "alerts", Keys.ALERTS);
        return new Config.Alerts(get(n, Keys.ALERT_QUEUE_SIZE), get(n, Keys.ALERT_OLDEST), get(n, Keys.ALERT_DEFERRAL_RATIO),
                get(n, Keys.ALERT_MIN_FREE_DISK));
    }

    /** [plugins]: dir, and a table of string settings per check name. */
    private Config.Plugins plugins(JsonNode root) {
        JsonNode n = root.get("plugins");
        if (n == null) return null;
        Path dir = path(n, Keys.PLUGINS_DIR);
        if (dir == null) problem("plugins.dir", "name the directory of plugin jars");
        else if (!Files.isDirectory(dir)) problem("plugins.dir", "not a directory: " + dir);
        Map<String, Map<String, String>> settings = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (Keys.PLUGINS.names().contains(e.getKey())) continue;
            if (!e.getValue().isObject()) {
                problem("plugins." + e.getKey(), "expected dir, or a table [plugins." + e.getKey() + "] of a check's settings");
                continue;
            }
            Map<String, String> values = new LinkedHashMap<>();
            e.getValue().fields().forEachRemaining(v -> values.put(v.getKey(), v.getValue().isTextual() ? v.getValue().asText() : v.getValue().toString()));
            settings.put(e.getKey(), Map.copyOf(values));
        }
        return new Config.Plugins(dir, Map.copyOf(settings));
    }

    /** [srs]: the rewriting domain must be one of ours, so that bounces to it are accepted. */
    private Config.Srs srs(JsonNode root, Set<String> domains) {
        JsonNode n = root.get("srs");
        if (n == null) return null;
        unknownKeys(n, "srs", Keys.SRS);
        String domain = get(n, Keys.SRS_DOMAIN);
        if (domain == null) problem("srs.domain", "name the domain SRS addresses are made in (one of domains)");
        else if (!domains.contains(domain.toLowerCase(Locale.ROOT))) problem("srs.domain", domain + " is not one of domains " + domains);
        Path secret = path(n, Keys.SRS_SECRET_FILE);
        if (secret != null && !Files.isReadable(secret)) problem("srs.secret_file", "cannot read " + secret);
        Set<String> exclude = new LinkedHashSet<>();
        for (String d : get(n, Keys.SRS_EXCLUDE)) {
            if (!Domains.isValid(d, false)) problem("srs.exclude_domains", "not a valid domain: " + d);
            exclude.add(d.toLowerCase(Locale.ROOT));
        }
        Duration maxAge = get(n, Keys.SRS_MAX_AGE);
        if (maxAge.toDays() < 1 || maxAge.toDays() > 1000) problem("srs.max_age", "expected 1 to 1000 days, got " + maxAge.toDays() + " days");
        return new Config.Srs(domain == null ? null : domain.toLowerCase(Locale.ROOT), secret, Set.copyOf(exclude), maxAge);
    }

    /** [milter]: servers "inet:HOST:PORT" or "unix:/PATH", in order; Postfix's defaults for the rest. */
    private Config.Milter milter(JsonNode root) {
        JsonNode n = root.get("milter");
        if (n == null) return null;
        unknownKeys(n, "milter", Keys.MILTER);
        List<String> servers = get(n, Keys.MILTER_SERVERS);
        for (String s : servers) {
            if (!s.matches("inet:(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5}|unix:/.+")) {
                problem("milter.servers", "expected \"inet:HOST:PORT\" or \"unix:/PATH\", got \"" + s + "\"");
            }
        }
        if (servers.isEmpty()) problem("milter.servers", "name at least one milter, or leave [milter] out");
        boolean after = get(n, Keys.MILTER_AFTER_QUEUE);
        if (after && root.has("cluster")) problem("milter.after_queue", "not supported in cluster mode yet: use the milters before the queue");
        return new Config.Milter(servers, get(n, Keys.MILTER_DEFAULT_ACTION), get(n, Keys.MILTER_CONNECT_TIMEOUT),
                get(n, Keys.MILTER_COMMAND_TIMEOUT), get(n, Keys.MILTER_CONTENT_TIMEOUT), after);
    }

    private Config.Recipients recipients(JsonNode root, Set<String> domains) {
        Set<String> relay = new LinkedHashSet<>();
        for (String r : get(root, Keys.RELAY_DOMAINS)) {
            String lower = r.toLowerCase(Locale.ROOT);
            if (!Domains.isValid(lower, false) || lower.startsWith("[")) problem("relay_domains", "not a valid domain: " + r);
            else if (domains.contains(lower)) problem("relay_domains", lower + " is also in domains: a domain is either ours or relayed");
            else relay.add(lower);
        }
        Path list = path(root, Keys.RELAY_RECIPIENTS);
        if (list != null && !Files.isReadable(list)) problem("relay_recipients", "cannot read " + list);
        if (list != null && relay.isEmpty()) problem("relay_recipients", "set relay_domains as well: the list is of their addresses");
        String delim = get(root, Keys.RECIPIENT_DELIMITER);
        // Postfix 3.x: several characters, any of which starts the extension
        if (!delim.chars().allMatch(c -> c > 32 && c < 127 && c != '@' && c != '"' && c != '\\')) {
            problem("recipient_delimiter", "printable ASCII characters other than '@', '\"' and '\\', e.g. \"+\", got \"" + delim + "\"");
            delim = "";
        }
        JsonNode v = root.get("recipient_verification");
        if (v != null) unknownKeys(v, "recipient_verification", Keys.RECIPIENT_VERIFICATION);
        Duration pos = get(v, Keys.VERIFY_POSITIVE), neg = get(v, Keys.VERIFY_NEGATIVE), probe = get(v, Keys.PROBE_TIMEOUT);
        int conc = get(v, Keys.PROBE_CONCURRENCY);
        JsonNode m = root.get("maildir");
        if (m != null) unknownKeys(m, "maildir", Keys.MAILDIR);
        String owner = get(m, Keys.MAILDIR_OWNER);
        if (owner != null) ownerProblem(owner);
        boolean folders = get(m, Keys.SUBADDRESS_FOLDERS);
        String quota = get(m, Keys.OVER_QUOTA);
        return new Config.Recipients(Set.copyOf(relay), list, delim, pos, neg, probe, conc, folders, quota, owner);
    }

    private void ownerProblem(String owner) {
        String[] f = owner.split(":", 2);
        var names = java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            names.lookupPrincipalByName(f[0]);
            if (f.length == 2) names.lookupPrincipalByGroupName(f[1]);
        } catch (IOException e) {
            problem("maildir.owner", "no such user or group on this machine: \"" + owner + "\" (expected \"user\" or \"user:group\")");
        }
    }

    private static final Pattern DATABASE = Pattern.compile("postgresql://[^/\\s]+(?::\\d+)?/[A-Za-z0-9_.-]+(?:\\?\\S*)?");

    private Config.Cluster cluster(JsonNode root, String hostname) {
        JsonNode n = root.get("cluster");
        if (n == null) return null;
        unknownKeys(n, "cluster", Keys.CLUSTER);
        String db = get(n, Keys.CLUSTER_DATABASE);
        if (db == null) problem("cluster.database", "required in a [cluster] section, e.g. \"postgresql://127.0.0.1:5432/postern\"");
        else if (!DATABASE.matcher(db).matches()) problem("cluster.database", "expected postgresql://HOST[:PORT]/DATABASE, got \"" + db + "\"");
        String user = get(n, Keys.CLUSTER_USER);
        Path pw = path(n, Keys.CLUSTER_PASSWORD_FILE);
        if (pw != null && !Files.isReadable(pw)) problem("cluster.password_file", "cannot read " + pw);
        String node = get(n, Keys.CLUSTER_NODE_NAME, Keys.CLUSTER_NODE_NAME.path(), hostname);
        if (node != null && !node.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
            problem("cluster.node_name", "letters, digits, '.', '_' and '-', at most 63, got \"" + node + "\"");
        }
        Duration lease = get(n, Keys.CLUSTER_LEASE);
        if (lease.compareTo(Duration.ofSeconds(5)) < 0) problem("cluster.lease", "must be at least 5s");
        return new Config.Cluster(db, user, pw, node, lease, path(n, Keys.CLUSTER_MAILBOX_ROOT));
    }

    private Config.Auth auth(JsonNode root, String hostname, Set<String> domains) {
        JsonNode n = root.get("auth");
        if (n == null) return Config.Auth.defaults(hostname);
        unknownKeys(n, "auth", Keys.AUTH);
        String id = get(n, Keys.AUTHSERV_ID, Keys.AUTHSERV_ID.path(), hostname);
        if (!Domains.isValid(id, false)) problem("auth.authserv_id", "expected a host name, got \"" + id + "\"");
        Path keys = path(n, Keys.DKIM_KEY_DIR);
        if (keys != null && !Files.isDirectory(keys)) problem("auth.dkim_key_dir", "not a directory: " + keys);
        boolean seal = get(n, Keys.ARC_SEAL);
        String sealDomain = get(n, Keys.ARC_SEAL_DOMAIN);
        if (seal && sealDomain == null) problem("auth.arc_seal_domain", "arc_seal = true needs the domain whose DKIM key seals, e.g. arc_seal_domain = \"example.com\"");
        if (sealDomain != null && !domains.contains(sealDomain.toLowerCase(Locale.ROOT))) problem("auth.arc_seal_domain", sealDomain + " is not one of this server's domains");
        return new Config.Auth(id.toLowerCase(Locale.ROOT), get(n, Keys.VERIFY), get(n, Keys.DMARC), get(n, Keys.DMARC_QUARANTINE),
                get(n, Keys.DKIM_SIGN), keys, get(n, Keys.RECEIVED_FORGERY), get(n, Keys.DMARC_REPORTS), seal,
                sealDomain == null ? null : sealDomain.toLowerCase(Locale.ROOT), get(n, Keys.DMARC_REPORTS_SEND));
    }

    private Config.Policy policy(JsonNode root) {
        JsonNode n = root.get("policy");
        if (n == null) return Config.Policy.DEFAULT;
        unknownKeys(n, "policy", Keys.POLICY);
        Map<String, List<String>> phases = new LinkedHashMap<>(Config.Policy.DEFAULT.phases());
        for (Key<List<String>> phaseKey : Keys.PHASES) {
            String phase = phaseKey.name();
            if (!n.has(phase)) continue;
            List<String> names = get(n, phaseKey);
            for (String c : names) {
                if (!Config.Policy.CHECKS.contains(c) && root.has("plugins") && c.matches("[a-z][a-z0-9_]*")) {
                    continue; // a plugin's check: the plugins are loaded, and the name checked, when the server starts
                }
                if (!Config.Policy.CHECKS.contains(c)) {
                    problem("policy." + phase, "unknown check \"" + c + "\" (known: " + String.join(", ", new java.util.TreeSet<>(Config.Policy.CHECKS)) + ")");
                } else if ((c.equals("reject_unauth_destination") || c.equals("reject_non_fqdn_recipient") || c.equals("reject_unverified_recipient")) && !phase.equals("rcpt")) {
                    problem("policy." + phase, c + " needs a recipient: use it in policy.rcpt");
                }
            }
            phases.put(phase, names);
        }
        List<String> rcpt = phases.getOrDefault("rcpt", List.of());
        if (!rcpt.contains("reject_unauth_destination") && !rcpt.contains("reject")) {
            problem("policy.rcpt", "must contain reject_unauth_destination (or reject): without it this server would be an open relay");
        }
        Set<String> warn = new LinkedHashSet<>(get(n, Keys.WARN_ONLY));
        for (String w : warn) {
            if (!Config.Policy.CHECKS.contains(w) && !root.has("plugins")) problem("policy.warn_only", "unknown check \"" + w + "\"");
        }
        Map<String, Integer> zones = new LinkedHashMap<>();
        JsonNode z = n.get("dnsbl");
        if (z != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = z.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!Domains.isValid(e.getKey(), false)) problem("policy.dnsbl." + e.getKey(), "not a DNS zone name");
                else if (!e.getValue().isIntegralNumber()) problem("policy.dnsbl." + e.getKey(), "expected an integer weight, got " + e.getValue());
                else zones.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue().asInt());
            }
        }
        boolean usesDnsbl = phases.values().stream().anyMatch(l -> l.contains("check_dnsbl"));
        if (usesDnsbl && zones.isEmpty()) problem("policy.dnsbl", "check_dnsbl is used but no [policy.dnsbl] zones are given");
        Map<Cidr, String> access = new LinkedHashMap<>();
        JsonNode a = n.get("client_access");
        if (a != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
                var e = it.next();
                Cidr c = Cidr.parse(e.getKey());
                String action = e.getValue().asText();
                if (c == null) problem("policy.client_access." + e.getKey(), "not a network in CIDR notation");
                else if (!Set.of("permit", "reject", "defer", "drop").contains(action)) {
                    problem("policy.client_access." + e.getKey(), "expected \"permit\", \"reject\", \"defer\" or \"drop\", got " + e.getValue());
                } else access.put(c, action);
            }
        }
        for (String phase : List.of("connect", "helo", "mail", "data")) {
            if (phases.getOrDefault(phase, List.of()).contains("greylist")) problem("policy." + phase, "greylist needs a recipient: use it in policy.rcpt");
        }
        for (String phase : List.of("connect", "helo")) {
            for (String c : List.of("reject_spf_fail", "reject_sender_login_mismatch")) {
                if (phases.getOrDefault(phase, List.of()).contains(c)) problem("policy." + phase, c + " needs the sender: use it in policy.mail or policy.rcpt");
            }
        }
        return new Config.Policy(phases, warn, zones, get(n, Keys.DNSBL_THRESHOLD), access, get(n, Keys.GREYLIST_DELAY),
                get(n, Keys.GREYLIST_RETRY_WINDOW), get(n, Keys.GREYLIST_WHITELIST), get(n, Keys.CONNECTIONS_PER_MINUTE),
                get(n, Keys.RECIPIENTS_PER_MINUTE), senderDbl(n, phases), accessFiles(n, phases), get(n, Keys.MESSAGES_PER_MINUTE),
                get(n, Keys.AUTH_FAILURE_LIMIT), get(n, Keys.AUTH_FAILURE_WINDOW), get(n, Keys.GREET_PAUSE));
    }

    /** The allow/block list files of the check_*_access checks; a check used without its file is a mistake. */
    private Map<String, Path> accessFiles(JsonNode n, Map<String, List<String>> phases) {
        Map<String, Path> out = new LinkedHashMap<>();
        for (Key<String> k : Keys.ACCESS_FILES) {
            String table = k.name();
            Path p = path(n, k);
            boolean used = phases.values().stream().anyMatch(l -> l.contains("check_" + table));
            if (p == null) {
                if (used) problem("policy." + table, "check_" + table + " is used but no " + table + " file is given");
                continue;
            }
            if (!Files.isReadable(p)) problem("policy." + table, "cannot read " + p);
            else out.put(table, p);
        }
        return out;
    }

    private List<String> senderDbl(JsonNode n, Map<String, List<String>> phases) {
        List<String> zones = get(n, Keys.SENDER_DBL);
        for (String z : zones) if (!Domains.isValid(z, false)) problem("policy.sender_dbl", "not a DNS zone name: " + z);
        if (zones.isEmpty() && phases.values().stream().anyMatch(l -> l.contains("check_sender_dbl"))) {
            problem("policy.sender_dbl", "check_sender_dbl is used but no sender_dbl zones are given");
        }
        return zones;
    }

    private Config.Delivery delivery(JsonNode root, String hostname) {
        JsonNode n = root.get("delivery");
        if (n == null) return Config.Delivery.defaults(hostname);
        unknownKeys(n, "delivery", Keys.DELIVERY);
        int port = get(n, Keys.SMTP_PORT);
        if (port > 65535) problem("delivery.smtp_port", "expected a port 1-65535, got " + port);
        Nexthop relayhost = null;
        String rh = get(n, Keys.RELAYHOST);
        if (rh != null) {
            relayhost = Nexthop.parse(rh, port);
            if (relayhost == null) problem("delivery.relayhost", "expected host, [host]:port or smtp:[host]:port, got \"" + rh + "\"");
        }
        String user = get(n, Keys.RELAY_USER);
        Path pwFile = path(n, Keys.RELAY_PASSWORD_FILE);
        if ((user == null) != (pwFile == null)) problem(user == null ? "delivery.relay_password_file" : "delivery.relay_user",
                "relay_user and relay_password_file must be given together");
        if (pwFile != null && !Files.isReadable(pwFile)) problem("delivery.relay_password_file", "cannot read " + pwFile);
        List<InetSocketAddress> dns = new ArrayList<>();
        for (String s : get(n, Keys.DNS_SERVERS)) {
            InetSocketAddress a = ipAndPort(s, 53);
            if (a == null) problem("delivery.dns_servers", "expected an IP address with optional :port, got \"" + s + "\"");
            else dns.add(a);
        }
        String helo = get(n, Keys.HELO_NAME, Keys.HELO_NAME.path(), hostname);
        if (helo != null && !Domains.isValid(helo, false)) problem("delivery.helo_name", "not a valid host name: " + helo);
        String bindAddr = get(n, Keys.BIND_ADDRESS);
        if (bindAddr != null && Cidr.parse(bindAddr) == null) problem("delivery.bind_address", "expected an IP address, got " + bindAddr);
        Config.TlsMode tlsMode = tlsLevel("delivery.tls", get(n, Keys.DELIVERY_TLS));
        Path caFile = path(n, Keys.TLS_CA_FILE);
        if (caFile != null && !Files.isReadable(caFile)) problem("delivery.tls_ca_file", "cannot read " + caFile);
        Path anchors = path(n, Keys.DNSSEC_TRUST_ANCHORS);
        if (anchors != null && !Files.isReadable(anchors)) problem("delivery.dnssec_trust_anchors", "cannot read " + anchors);
        return new Config.Delivery(relayhost, user, pwFile, List.copyOf(dns), port, helo, bindAddr, tlsMode,
                get(n, Keys.DESTINATION_CONCURRENCY), get(n, Keys.MAX_CONCURRENCY), get(n, Keys.DNS_TIMEOUT)).withTls(tlsMode, caFile, Map.of())
                .withMtaSts(get(n, Keys.MTA_STS), get(n, Keys.MTA_STS_PORT))
                .withTlsrptSend(get(n, Keys.TLSRPT_SEND)).withDnssecTrustAnchors(anchors);
    }

    private static final String LEVELS = "\"none\", \"may\", \"encrypt\", \"verify\", \"secure\", \"dane\" or \"dane-only\"";

    private Config.TlsMode tlsLevel(String key, String value) {
        try {
            if (value.contains("_")) throw new IllegalArgumentException(value);
            return Config.TlsMode.valueOf(value.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            problem(key, "expected " + LEVELS + ", got \"" + value + "\"");
            return Config.TlsMode.MAY;
        }
    }

    /** [tls_policy]: "domain" (or ".parent") = level. */
    private Map<String, Config.TlsMode> tlsPolicy(JsonNode root) {
        JsonNode n = root.get("tls_policy");
        if (n == null) return Map.of();
        Map<String, Config.TlsMode> out = new LinkedHashMap<>();
        if (!n.isObject()) {
            problem("tls_policy", "must be a table of \"domain\" = \"level\"");
            return out;
        }
        for (var it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = "tls_policy." + e.getKey();
            String domain = e.getKey().toLowerCase(Locale.ROOT);
            String bare = domain.startsWith(".") ? domain.substring(1) : domain;
            if (!Domains.isValid(bare, false)) problem(key, "not a domain (or .parent-domain): " + e.getKey());
            if (!e.getValue().isTextual()) {
                problem(key, "expected " + LEVELS + ", got " + e.getValue());
                continue;
            }
            out.put(domain, tlsLevel(key, e.getValue().asText()));
        }
        return out;
    }

    private Map<String, Nexthop> transports(JsonNode root, int smtpPort) {
        Map<String, Nexthop> out = new LinkedHashMap<>();
        JsonNode n = root.get("transport");
        if (n == null) return out;
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = "transport." + e.getKey();
            String domain = e.getKey().toLowerCase(Locale.ROOT);
            if (!Domains.isValid(domain.startsWith(".") ? domain.substring(1) : domain, false)) {
                problem(key, "not a valid domain: " + e.getKey());
                continue;
            }
            Nexthop h = e.getValue().isTextual() ? Nexthop.parse(e.getValue().asText(), smtpPort) : null;
            if (h == null) problem(key, "expected \"smtp:[host]:port\" or \"lmtp:host:port\", got " + e.getValue());
            else out.put(domain, h);
        }
        return out;
    }

    /** "192.0.2.1", "192.0.2.1:5353", "::1" or "[::1]:5353"; literals only, so no DNS is needed to read it. */
    static InetSocketAddress ipAndPort(String s, int defaultPort) {
        String host = s;
        int port = defaultPort;
        Matcher m = BIND.matcher(s);
        if (m.matches() && (m.group(1) != null || !m.group(2).contains(":"))) {
            host = m.group(1) != null ? m.group(1) : m.group(2);
            port = Integer.parseInt(m.group(3));
        }
        if (Cidr.parse(host) == null || host.contains("/") || port < 1 || port > 65535) return null;
        return new InetSocketAddress(host, port);
    }

    private Config.QueueSettings queueSettings(JsonNode root, boolean clustered) {
        JsonNode n = root.get("queue");
        if (n != null) unknownKeys(n, "queue", Keys.QUEUE);
        // a cluster's queue is its database's: that is its default, and nothing else may be set
        String dfltStore = clustered ? "postgresql" : Keys.STORE.defaultValue();
        Config.Store store = Config.Store.valueOf(get(n, Keys.STORE, Keys.STORE.path(), dfltStore).toUpperCase(Locale.ROOT));
        Config.QueueSettings q = new Config.QueueSettings(get(n, Keys.MIN_BACKOFF), get(n, Keys.MAX_BACKOFF), get(n, Keys.MAX_LIFETIME),
                get(n, Keys.DELAY_WARNING), store, queueClasses(n == null ? null : n.get("classes")));
        if (q.store() == Config.Store.POSTGRESQL && !clustered) problem("queue.store", "\"postgresql\" needs a [cluster] section naming the database");
        // every node must see every message: a node-local store in a cluster would strand its mail with the node
        if (q.store() != Config.Store.POSTGRESQL && clustered) problem("queue.store", "a [cluster] keeps the queue in PostgreSQL; remove this key");
        if (q.minBackoff().compareTo(q.maxBackoff()) > 0) problem("queue.min_backoff", "must not exceed max_backoff");
        return q;
    }

    /** [queue.classes.NAME]: each of the four classes may be given; the ones not given keep their defaults. */
    private Map<String, Config.QueueClass> queueClasses(JsonNode n) {
        Map<String, Config.QueueClass> out = new java.util.LinkedHashMap<>(Config.QueueClass.DEFAULTS);
        if (n == null) return out;
        if (!n.isObject()) {
            problem("queue.classes", "expected tables [queue.classes.NAME]");
            return out;
        }
        n.fieldNames().forEachRemaining(name -> {
            String key = "queue.classes." + name;
            JsonNode c = n.get(name);
            if (!Config.QueueClass.NAMES.contains(name)) {
                problem(key, "unknown class; the classes are " + String.join(", ", Config.QueueClass.NAMES));
                return;
            }
            if (!c.isObject()) {
                problem(key, "expected a table with " + String.join(", ", Keys.QUEUE_CLASS.names()));
                return;
            }
            unknownKeys(c, key, Keys.QUEUE_CLASS);
            Config.QueueClass dflt = Config.QueueClass.DEFAULTS.get(name);
            int share = get(c, Keys.CLASS_SHARE, key + ".share", dflt.share());
            Duration min = get(c, Keys.CLASS_MIN_BACKOFF, key + ".min_backoff", null);
            Duration max = get(c, Keys.CLASS_MAX_BACKOFF, key + ".max_backoff", null);
            if (min != null && max != null && min.compareTo(max) > 0) problem(key + ".min_backoff", "must not exceed max_backoff");
            out.put(name, new Config.QueueClass(share, min, max));
        });
        int sum = out.values().stream().mapToInt(Config.QueueClass::share).sum();
        if (sum > 100) problem("queue.classes", "the shares add up to " + sum + "%; at most 100% of the delivery threads can be reserved");
        return out;
    }

    private Config.Admin admin(JsonNode root) {
        JsonNode n = root.get("admin");
        if (n != null) unknownKeys(n, "admin", Keys.ADMIN);
        String bind = get(n, Keys.ADMIN_BIND);
        Matcher m = BIND.matcher(bind);
        if (!m.matches()) {
            problem("admin.bind", "expected host:port, got \"" + bind + "\"");
            return new Config.Admin("127.0.0.1", 0);
        }
        String host = m.group(1) != null ? m.group(1) : m.group(2);
        if (Cidr.parse(host) == null && !host.equals("localhost")) problem("admin.bind", "expected an IP address, got \"" + host + "\"");
        List<String> users = get(n, Keys.ADMIN_USERS);
        for (String u : users) {
            if (dev.postern.mail.Address.parse(u, true) == null) problem("admin.users", "not an address: " + u);
        }
        // bound beyond loopback the endpoint speaks HTTPS only (the [tls] certificate) and every request needs a
        // token or a console login; users (or the token) is how anyone logs in
        return new Config.Admin(host, Integer.parseInt(m.group(3)), users);
    }

    private Set<String> domains(JsonNode root) {
        Set<String> out = new LinkedHashSet<>();
        for (String d : get(root, Keys.DOMAINS)) {
            String lower = d.toLowerCase(Locale.ROOT);
            if (!Domains.isValid(lower, false) || lower.startsWith("[")) problem("domains", "not a valid domain: " + d);
            else out.add(lower);
        }
        if (out.isEmpty() && root.has("domains")) problem("domains", "at least one local domain is needed");
        return out;
    }

    /** The balancers a PROXY-protocol listener takes headers from; required when proxy_protocol is on. */
    private List<Cidr> proxyFrom(JsonNode l, String key) {
        boolean on = get(l, Keys.PROXY_PROTOCOL, key + ".proxy_protocol", false);
        List<Cidr> from = new ArrayList<>();
        for (String n : get(l, Keys.PROXY_FROM, key + ".proxy_from", List.of())) {
            Cidr c = Cidr.parse(n);
            if (c == null) problem(key + ".proxy_from", "not a network in CIDR notation: " + n);
            else from.add(c);
        }
        if (on && from.isEmpty()) problem(key + ".proxy_from", "required with proxy_protocol: the load balancers' addresses, e.g. [\"10.0.0.5/32\"]");
        if (!on && !from.isEmpty()) problem(key + ".proxy_from", "set proxy_protocol = true as well, or remove this key");
        return on ? from : List.of();
    }

    private List<Cidr> networks(JsonNode root) {
        List<Cidr> out = new ArrayList<>();
        for (String n : get(root, Keys.RELAY_NETWORKS)) {
            Cidr c = Cidr.parse(n);
            if (c == null) problem("relay_networks", "not a network in CIDR notation: " + n);
            else out.add(c);
        }
        return out;
    }

    private static final Pattern BIND = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([^:\\[\\]]+)):(\\d{1,5})");

    private List<Listener> listeners(JsonNode root) {
        JsonNode node = root.get("listeners");
        if (node == null) return defaultListeners();
        if (!node.isObject()) {
            problem("listeners", "must be a table of [listeners.NAME] sections");
            return List.of();
        }
        List<Listener> out = new ArrayList<>();
        Set<String> binds = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = "listeners." + e.getKey();
            JsonNode l = e.getValue();
            if (!l.isObject()) {
                problem(key, "must be a table with bind and kind");
                continue;
            }
            unknownKeys(l, key, Keys.LISTENER);
            List<Cidr> proxy = proxyFrom(l, key); // checked even when bind or kind is missing: every problem at once
            String bind = get(l, Keys.LISTENER_BIND, key + ".bind", null);
            String kindText = get(l, Keys.LISTENER_KIND, key + ".kind", null);
            if (bind == null && !l.has("bind")) problem(key + ".bind", "missing, e.g. bind = \"127.0.0.1:2525\"");
            if (kindText == null && !l.has("kind")) problem(key + ".kind", "missing: one of \"smtp\", \"submission\", \"smtps\"");
            if (bind == null || kindText == null) continue;
            Kind kind = Kind.valueOf(kindText.toUpperCase(Locale.ROOT));
            Matcher m = BIND.matcher(bind);
            int port = m.matches() ? Integer.parseInt(m.group(3)) : -1;
            if (port < 1 || port > 65535) {
                problem(key + ".bind", "expected host:port with a port 1-65535, got \"" + bind + "\"");
                continue;
            }
            String host = m.group(1) != null ? m.group(1) : m.group(2);
            if (!binds.add(host + ":" + port)) problem(key + ".bind", "address " + bind + " is used by two listeners");
            out.add(new Listener(e.getKey(), host, port, kind, proxy));
        }
        if (out.isEmpty() && problems.isEmpty()) problem("listeners", "no listener defined");
        return out;
    }

    private Config.Tls tls(JsonNode root) {
        JsonNode node = root.get("tls");
        if (node == null) return new Config.Tls(null, null);
        unknownKeys(node, "tls", Keys.TLS);
        Path cert = path(node, Keys.TLS_CERT);
        Path key = path(node, Keys.TLS_KEY);
        if ((cert == null) != (key == null)) {
            problem(cert == null ? "tls.cert" : "tls.key", "tls.cert and tls.key must be given together");
            return new Config.Tls(null, null);
        }
        if (cert != null && !Files.isReadable(cert)) problem("tls.cert", "cannot read certificate file " + cert);
        if (key != null && !Files.isReadable(key)) problem("tls.key", "cannot read key file " + key);
        List<Config.CertPair> more = new ArrayList<>();
        JsonNode list = node.get(Keys.TLS_CERTIFICATES.name());
        if (list != null) {
            if (cert == null) problem("tls.certificates", "set tls.cert and tls.key first: they are the default pair");
            if (!list.isArray()) problem("tls.certificates", "expected [[tls.certificates]] tables with cert and key");
            else for (JsonNode e : list) {
                unknownKeys(e, "tls.certificates", Keys.TLS_MORE);
                Path c = path(e, Keys.MORE_CERT);
                Path k = path(e, Keys.MORE_KEY);
                if (c == null || k == null) problem("tls.certificates", "each needs cert and key");
                else if (!Files.isReadable(c) || !Files.isReadable(k)) problem("tls.certificates", "cannot read " + c + " / " + k);
                else more.add(new Config.CertPair(c, k));
            }
        }
        return new Config.Tls(cert, key, null, List.copyOf(more));
    }

    /** [tls] acme_*: the listeners' certificate from an ACME CA instead of files. */
    private Config.Acme acme(JsonNode node, String hostname, Config.Tls tls) {
        if (node == null) return null;
        // every ACME key's value is checked first, so a wrong one is named even without acme_directory
        String dir = get(node, Keys.ACME_DIRECTORY);
        String email = get(node, Keys.ACME_EMAIL);
        List<String> domains = get(node, Keys.ACME_DOMAINS, Keys.ACME_DOMAINS.path(), List.of(hostname));
        String bind = get(node, Keys.ACME_HTTP_BIND);
        int port = get(node, Keys.ACME_HTTP_PORT);
        Path ca = path(node, Keys.ACME_CA_FILE);
        Duration renew = get(node, Keys.ACME_RENEW_BEFORE);
        if (!node.has(Keys.ACME_DIRECTORY.name())) {
            for (Key<?> k : Keys.TLS.alternatives()) if (node.has(k.name())) problem(k.path(), "needs tls.acme_directory");
            return null;
        }
        if (dir == null) return null; // wrong type, said above
        java.net.URI uri = null;
        try {
            uri = java.net.URI.create(dir);
            if (!"https".equals(uri.getScheme()) || uri.getHost() == null) throw new IllegalArgumentException(dir);
        } catch (IllegalArgumentException e) {
            problem("tls.acme_directory", "expected the https:// URL of an ACME directory, got \"" + dir + "\"");
        }
        if (tls.cert() != null) problem("tls.acme_directory", "set either tls.cert/tls.key or tls.acme_directory, not both");
        if (email != null && !email.matches("[^@\\s]+@[^@\\s]+")) problem("tls.acme_email", "expected an e-mail address, got \"" + email + "\"");
        if (domains.isEmpty()) problem("tls.acme_domains", "name at least one domain");
        for (String d : domains) if (!Domains.isValid(d, false)) problem("tls.acme_domains", "not a valid host name: " + d);
        if (Cidr.parse(bind) == null) problem("tls.acme_http_bind", "expected an IP address, got " + bind);
        if (port > 65535) problem("tls.acme_http_port", "expected a port number, got " + port);
        if (ca != null && !Files.isReadable(ca)) problem("tls.acme_ca_file", "cannot read " + ca);
        return new Config.Acme(uri, email, List.copyOf(domains), bind, port, ca, renew);
    }

    /** [mta_sts]: our published policy; mx defaults to this host's name. */
    private Config.MtaStsServe mtaStsServe(JsonNode root, String hostname) {
        JsonNode n = root.get("mta_sts");
        if (n == null) return null;
        unknownKeys(n, "mta_sts", Keys.MTA_STS_TABLE);
        String mode = get(n, Keys.STS_MODE);
        List<String> mx = get(n, Keys.STS_MX, Keys.STS_MX.path(), List.of(hostname));
        for (String m : mx) {
            String host = m.startsWith("*.") ? m.substring(2) : m;
            if (!Domains.isValid(host.toLowerCase(Locale.ROOT), false)) problem("mta_sts.mx", "not a host name or *.domain pattern: " + m);
        }
        Duration maxAge = get(n, Keys.STS_MAX_AGE);
        if (maxAge.toSeconds() > 31_557_600L) problem("mta_sts.max_age", "at most 31557600 seconds (RFC 8461 3.2)");
        String bind = get(n, Keys.STS_BIND);
        String host = null;
        int port = 0;
        if (bind != null) {
            Matcher m = BIND.matcher(bind);
            if (!m.matches()) problem("mta_sts.bind", "expected host:port, e.g. \"0.0.0.0:443\", got \"" + bind + "\"");
            else {
                host = m.group(1) != null ? m.group(1) : m.group(2);
                port = Integer.parseInt(m.group(3));
            }
        }
        return new Config.MtaStsServe(mode, List.copyOf(mx), maxAge, host, port);
    }

    private Limits limits(JsonNode root) {
        JsonNode n = root.get("limits");
        if (n != null) unknownKeys(n, "limits", Keys.LIMITS);
        return new Limits(get(n, Keys.MAX_MESSAGE_SIZE), get(n, Keys.MAX_RECIPIENTS), get(n, Keys.MAX_CONNECTIONS),
                get(n, Keys.MAX_CONNECTIONS_PER_IP), get(n, Keys.COMMAND_TIMEOUT), get(n, Keys.DATA_TIMEOUT));
    }

    private Map<String, List<String>> aliases(JsonNode root, Set<String> domains) {
        JsonNode n = root.get("aliases");
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (n == null) return out;
        if (!n.isObject()) {
            problem("aliases", "must be a table of \"address\" = [\"target\", ...]");
            return out;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = "aliases." + e.getKey();
            Address from = Address.parse(e.getKey(), true);
            if (from == null) {
                problem(key, "not a valid address: " + e.getKey());
                continue;
            }
            if (!domains.contains(from.domain())) {
                problem(key, "alias " + e.getKey() + " is not in a local domain (domains = " + domains + ")");
                continue;
            }
            List<String> targets = new ArrayList<>();
            JsonNode v = e.getValue();
            List<JsonNode> items = new ArrayList<>();
            if (v.isArray()) v.forEach(items::add); else items.add(v);
            for (JsonNode t : items) {
                Address a = t.isTextual() ? Address.parse(t.asText(), true) : null;
                if (a == null) problem(key, "not a valid target address: " + t);
                else targets.add(a.key());
            }
            if (targets.isEmpty()) problem(key, "an alias needs at least one target");
            out.put(from.key(), List.copyOf(targets));
        }
        return out;
    }

    /** Tries to bind every listener's address, as serve will: an address in use is a configuration error. */
    private void probePorts(List<Listener> listeners) {
        for (Listener l : listeners) {
            try {
                probeBind(new java.net.InetSocketAddress(InetAddress.getByName(l.host()), l.port()));
            } catch (IOException e) {
                problem("listeners." + l.name() + ".bind", "cannot listen on " + l.bind() + ": " + e.getMessage());
            }
        }
    }

    /**
     * Binds a plain socket to the address and lets it go: throws if anything holds the address, also a socket
     * with SO_REUSEPORT that a listener of ours could otherwise join. Connections in TIME_WAIT do not count.
     */
    public static void probeBind(java.net.InetSocketAddress address) throws IOException {
        try (var s = new java.net.ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(address);
        }
    }

    // ---- typed accessors that record problems ----

    /** A declared key's value in its table (n: the table's node, null when the table is absent), or its default. */
    private <T> T get(JsonNode n, Key<T> k) { return get(n, k, k.path(), k.defaultValue()); }

    /** As {@link #get(JsonNode, Key)} at a given path (a template table's instance) with a given default. */
    private <T> T get(JsonNode n, Key<T> k, String path, T dflt) {
        JsonNode v = n == null ? null : n.get(k.name());
        if (v == null) return dflt;
        T value = k.type().read(v);
        if (value == null) {
            problem(path, "expected " + k.type().expected() + ", got " + v);
            return dflt;
        }
        return value;
    }

    /** A declared path key, relative paths taken from the configuration file's directory; null when absent. */
    private Path path(JsonNode n, Key<String> k) {
        String v = get(n, k);
        if (v == null) return null;
        Path p = Path.of(v);
        return p.isAbsolute() ? p : baseDir.resolve(p).normalize();
    }

    /** Keys in a declared table that no declaration names. */
    private void unknownKeys(JsonNode node, String path, Keys.Table table) { unknownKeys(node, path, table.names()); }

    private void unknownKeys(JsonNode node, String prefix, Set<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                String path = prefix.isEmpty() ? k : prefix + "." + k;
                problem(path, "unknown key (known here: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

    public static Duration parseDuration(String s) {
        Matcher m = DURATION.matcher(s.trim());
        if (!m.matches()) return null;
        long v = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(v);
            case "m" -> Duration.ofMinutes(v);
            case "h" -> Duration.ofHours(v);
            case "d" -> Duration.ofDays(v);
            default -> Duration.ofSeconds(v);
        };
    }

    private void problem(String key, String message) {
        problems.add(source + ":" + keyLines.lineOf(key) + ": " + key + ": " + message);
    }

    private static List<Listener> defaultListeners() {
        return List.of(new Listener("smtp", "127.0.0.1", 2525, Kind.SMTP),
                new Listener("submission", "127.0.0.1", 2587, Kind.SUBMISSION),
                new Listener("smtps", "127.0.0.1", 2465, Kind.SMTPS));
    }

    static String systemHostname() {
        String h = System.getenv("HOSTNAME");
        try {
            if (h == null || h.isBlank()) h = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            h = "localhost";
        }
        return Domains.isValid(h, false) ? h.toLowerCase(Locale.ROOT) : "localhost";
    }
}
