package dev.postern.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.postern.config.Key.BOOLEAN;
import static dev.postern.config.Key.DURATION;
import static dev.postern.config.Key.PATH;
import static dev.postern.config.Key.PAUSE;
import static dev.postern.config.Key.PERCENT;
import static dev.postern.config.Key.POSITIVE;
import static dev.postern.config.Key.POSITIVE_INT;
import static dev.postern.config.Key.RATIO;
import static dev.postern.config.Key.STRINGS;
import static dev.postern.config.Key.STRING;
import static dev.postern.config.Key.TABLE;
import static dev.postern.config.Key.key;
import static dev.postern.config.Key.oneOf;

/**
 * Every configuration key declared by the tables below, in the order of the README's reference, which
 * {@link #reference} writes and KeysReferenceTest holds the README to. Tables not yet declared here are
 * read by ConfigLoader's own code (being moved here table by table).
 */
public final class Keys {
    private Keys() {}

    /**
     * A table of the file: its name ("limits"; a template like "queue.classes.NAME" with the example shown), keys,
     * comment; alternatives: keys shown commented out after the others, introduced by a line ("or, instead of ...").
     */
    public record Table(String name, String shownAs, String doc, List<Key<?>> keys, String alternativesIntro, List<Key<?>> alternatives,
                        boolean arrayOfTables) {
        public Table(String name, String shownAs, String doc, List<Key<?>> keys) { this(name, shownAs, doc, keys, null, List.of(), false); }

        public Set<String> names() {
            Set<String> out = keys.stream().map(Key::name).collect(Collectors.toCollection(java.util.TreeSet::new));
            alternatives.forEach(k -> out.add(k.name()));
            return out;
        }

        public List<Key<?>> all() {
            List<Key<?>> out = new ArrayList<>(keys);
            out.addAll(alternatives);
            return out;
        }
    }

    // RFC 5321 4.5.3.2.7: the server waits at least 5 minutes for a command; we use the same for data blocks
    // (4.5.3.2.6 gives the client 10 minutes for the whole DATA termination; 3 minutes per block is 4.5.3.2.5).
    // Connection counts: Postfix's defaults (smtpd_client_connection_count_limit = 50; 1000 in all, as we do not fork).
    public static final Key<Long> MAX_MESSAGE_SIZE = key("limits", "max_message_size", POSITIVE, 14_680_064L, "14680064",
            "octets; advertised as SIZE and enforced while streaming (552 5.3.4)");
    public static final Key<Integer> MAX_RECIPIENTS = key("limits", "max_recipients", POSITIVE_INT, 100, "100", "per message (452 4.5.3)");
    public static final Key<Integer> MAX_CONNECTIONS = key("limits", "max_connections", POSITIVE_INT, 1000, "1000", "in total (421 4.7.0)");
    public static final Key<Integer> MAX_CONNECTIONS_PER_IP = key("limits", "max_connections_per_ip", POSITIVE_INT, 50, "50",
            "per client address (421 4.7.0); relay_networks are exempt");
    public static final Key<Duration> COMMAND_TIMEOUT = key("limits", "command_timeout", DURATION, Duration.ofMinutes(5), "\"5m\"",
            "idle time between commands (RFC 5321 4.5.3.2.7), then 421 4.4.2");
    public static final Key<Duration> DATA_TIMEOUT = key("limits", "data_timeout", DURATION, Duration.ofMinutes(3), "\"3m\"",
            "silence inside DATA/BDAT, then 421 4.4.2");
    public static final Table LIMITS = new Table("limits", "limits", null,
            List.of(MAX_MESSAGE_SIZE, MAX_RECIPIENTS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP, COMMAND_TIMEOUT, DATA_TIMEOUT));

    public static final Key<Integer> ALERT_QUEUE_SIZE = key("alerts", "queue_size", POSITIVE_INT, 10_000, "10000", "messages in the queue");
    public static final Key<Duration> ALERT_OLDEST = key("alerts", "oldest_message", DURATION, Duration.ofHours(24), "\"24h\"",
            "how long the oldest has waited");
    public static final Key<Double> ALERT_DEFERRAL_RATIO = key("alerts", "deferral_ratio", RATIO, 0.5, "0.5",
            "of a destination's waiting recipients (10 or more) deferred");
    public static final Key<Long> ALERT_MIN_FREE_DISK = key("alerts", "min_free_disk_mb", POSITIVE, 1024L, "1024",
            "free space for the data directory");
    public static final Table ALERTS = new Table("alerts", "alerts", "logged once when they start, and metrics; see \"Metrics\"",
            List.of(ALERT_QUEUE_SIZE, ALERT_OLDEST, ALERT_DEFERRAL_RATIO, ALERT_MIN_FREE_DISK));

    // Postfix's defaults: minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime, delay_warning_time
    public static final Key<Duration> MIN_BACKOFF = key("queue", "min_backoff", DURATION, Duration.ofSeconds(300), "\"300s\"",
            "retry spacing doubles from here...");
    public static final Key<Duration> MAX_BACKOFF = key("queue", "max_backoff", DURATION, Duration.ofSeconds(4000), "\"4000s\"",
            "...up to here (±10% jitter)");
    public static final Key<Duration> MAX_LIFETIME = key("queue", "max_lifetime", DURATION, Duration.ofDays(5), "\"5d\"",
            "then the recipient fails and the sender gets a bounce");
    public static final Key<Duration> DELAY_WARNING = key("queue", "delay_warning", DURATION, Duration.ofHours(4), "\"4h\"",
            "\"still trying\" notice once, unless NOTIFY says otherwise");
    public static final Key<String> STORE = key("queue", "store", oneOf("log", "files", "postgresql"), "log", "\"log\"",
            "\"log\" | \"files\" | \"postgresql\" (a [cluster]'s, and its default); see \"The queue\"");
    public static final Key<com.fasterxml.jackson.databind.JsonNode> CLASSES = key("queue", "classes", TABLE, null, null,
            "[queue.classes.NAME] below");
    public static final Table QUEUE = new Table("queue", "queue", null, List.of(MIN_BACKOFF, MAX_BACKOFF, MAX_LIFETIME, DELAY_WARNING, STORE, CLASSES));

    public static final Key<Integer> CLASS_SHARE = key("queue.classes.NAME", "share", PERCENT, null, "20",
            "percent of the delivery threads kept for this class; defaults:\n"
                    + "  notices 10, submission 20, relay 20, bulk 10 (the other 40 shared)");
    public static final Key<Duration> CLASS_MIN_BACKOFF = key("queue.classes.NAME", "min_backoff", DURATION, null, "\"60s\"",
            "this class's own retry spacing; default: [queue]'s");
    public static final Key<Duration> CLASS_MAX_BACKOFF = key("queue.classes.NAME", "max_backoff", DURATION, null, "\"600s\"", null);
    public static final Table QUEUE_CLASS = new Table("queue.classes.NAME", "queue.classes.submission",
            "delivery priority classes; see \"Priority classes\"", List.of(CLASS_SHARE, CLASS_MIN_BACKOFF, CLASS_MAX_BACKOFF));

    public static final Key<String> ADMIN_BIND = key("admin", "bind", STRING, "127.0.0.1:0", "\"127.0.0.1:0\"",
            "0 picks a free port, written to <data_dir>/admin.port; beyond loopback\n  HTTPS only, with the [tls] certificate");
    public static final Key<List<String>> ADMIN_USERS = key("admin", "users", STRINGS, List.of(), "[\"alice@example.test\"]",
            "accounts that may log in to the console; default [] (the token only)");
    public static final Table ADMIN = new Table("admin", "admin", "the admin API and the web console; see \"Operating Postern\"",
            List.of(ADMIN_BIND, ADMIN_USERS));

    public static final Key<String> SRS_DOMAIN = key("srs", "domain", STRING, null, "\"example.test\"",
            "one of domains: SRS addresses are made in it, and bounces to them accepted");
    public static final Key<String> SRS_SECRET_FILE = key("srs", "secret_file", PATH, null, "\"/etc/postern/srs.secret\"",
            "postsrsd's format, one secret per line, the first signs; default:\n  <data_dir>/srs.secret, made on first start");
    public static final Key<List<String>> SRS_EXCLUDE = key("srs", "exclude_domains", STRINGS, List.of(), "[\"partner.example\"]",
            "senders never rewritten (our own domains never are)");
    public static final Key<Duration> SRS_MAX_AGE = key("srs", "max_age", DURATION, Duration.ofDays(21), "\"21d\"",
            "older SRS addresses are refused");
    public static final Table SRS = new Table("srs", "srs", "rewrite the sender of mail aliases forward elsewhere; see \"Forwarding and SRS\"",
            List.of(SRS_DOMAIN, SRS_SECRET_FILE, SRS_EXCLUDE, SRS_MAX_AGE));

    public static final Key<List<String>> MILTER_SERVERS = key("milter", "servers", STRINGS, List.of(),
            "[\"inet:127.0.0.1:11332\", \"unix:/run/opendkim/opendkim.sock\"]", "in order");
    public static final Key<String> MILTER_DEFAULT_ACTION = key("milter", "default_action", oneOf("accept", "reject", "tempfail"), "tempfail",
            "\"tempfail\"", "accept | reject | tempfail when a milter fails or does not answer");
    public static final Key<Duration> MILTER_CONNECT_TIMEOUT = key("milter", "connect_timeout", DURATION, Duration.ofSeconds(30), "\"30s\"", null);
    public static final Key<Duration> MILTER_COMMAND_TIMEOUT = key("milter", "command_timeout", DURATION, Duration.ofSeconds(30), "\"30s\"",
            "each step up to DATA, and each header field");
    public static final Key<Duration> MILTER_CONTENT_TIMEOUT = key("milter", "content_timeout", DURATION, Duration.ofSeconds(300), "\"300s\"",
            "body chunks and end of message");
    public static final Key<Boolean> MILTER_AFTER_QUEUE = key("milter", "after_queue", BOOLEAN, false, "false",
            "true: answer 250 first, filter before delivery (see \"Filters\")");
    public static final Table MILTER = new Table("milter", "milter", "content filters, before the 250 (Postfix's smtpd_milters); see \"Filters\"",
            List.of(MILTER_SERVERS, MILTER_DEFAULT_ACTION, MILTER_CONNECT_TIMEOUT, MILTER_COMMAND_TIMEOUT, MILTER_CONTENT_TIMEOUT, MILTER_AFTER_QUEUE));

    public static final Key<Duration> VERIFY_POSITIVE = key("recipient_verification", "positive_ttl", DURATION, Duration.ofDays(1), "\"1d\"",
            "a next hop's \"exists\" is believed this long");
    public static final Key<Duration> VERIFY_NEGATIVE = key("recipient_verification", "negative_ttl", DURATION, Duration.ofHours(1), "\"1h\"",
            "its \"no such user\" this long; both kept in <data_dir>/verify.db");
    public static final Key<Duration> PROBE_TIMEOUT = key("recipient_verification", "probe_timeout", DURATION, Duration.ofSeconds(30), "\"30s\"",
            "a probe not answered by then: 450 4.1.1, not kept");
    public static final Key<Integer> PROBE_CONCURRENCY = key("recipient_verification", "probe_concurrency", POSITIVE_INT, 4, "4",
            "probes at once per destination domain");
    public static final Table RECIPIENT_VERIFICATION = new Table("recipient_verification", "recipient_verification",
            "reject_unverified_recipient (Postfix's address_verify)", List.of(VERIFY_POSITIVE, VERIFY_NEGATIVE, PROBE_TIMEOUT, PROBE_CONCURRENCY));

    public static final Key<String> MAILDIR_OWNER = key("maildir", "owner", STRING, null, "\"vmail:vmail\"",
            "user[:group] owning mailboxes and files we make (dirs 0700, files 0600);\n  needs root; default: the user Postern runs as");
    public static final Key<Boolean> SUBADDRESS_FOLDERS = key("maildir", "subaddress_folders", BOOLEAN, false, "false",
            "alice+news@ into alice's folder .news when that folder exists");
    public static final Key<String> OVER_QUOTA = key("maildir", "over_quota", oneOf("defer", "bounce"), "defer", "\"defer\"",
            "Maildir++ quota (maildirsize) exceeded: \"defer\" (452 4.2.2) | \"bounce\" (552 5.2.2)");
    public static final Table MAILDIR = new Table("maildir", "maildir", "Postern's own Maildir delivery", List.of(MAILDIR_OWNER, SUBADDRESS_FOLDERS, OVER_QUOTA));

    public static final Key<String> RELAYHOST = key("delivery", "relayhost", STRING, null, "\"[smtp.provider.test]:587\"",
            "default: none, route by MX");
    public static final Key<String> RELAY_USER = key("delivery", "relay_user", STRING, null, "\"postern@example.test\"",
            "AUTH at the relayhost (both or neither)");
    public static final Key<String> RELAY_PASSWORD_FILE = key("delivery", "relay_password_file", PATH, null, "\"/etc/postern/relay.pw\"", null);
    public static final Key<List<String>> DNS_SERVERS = key("delivery", "dns_servers", STRINGS, List.of(), "[\"127.0.0.1:5353\"]",
            "default: the system resolver");
    public static final Key<Duration> DNS_TIMEOUT = key("delivery", "dns_timeout", DURATION, Duration.ofSeconds(10), "\"10s\"",
            "one DNS question, and all of one check phase's questions together");
    public static final Key<Integer> SMTP_PORT = key("delivery", "smtp_port", POSITIVE_INT, 25, "25", "port of remote MX hosts");
    public static final Key<String> HELO_NAME = key("delivery", "helo_name", STRING, null, "\"mx.example.test\"", "default: hostname");
    public static final Key<String> BIND_ADDRESS = key("delivery", "bind_address", STRING, null, "\"192.0.2.10\"", "default: any");
    public static final Key<String> DELIVERY_TLS = key("delivery", "tls", STRING, "may", "\"may\"",
            "none | may | encrypt | verify | secure | dane | dane-only: see \"Transport security\"");
    public static final Key<String> TLS_CA_FILE = key("delivery", "tls_ca_file", PATH, null, "\"/etc/postern/ca.pem\"",
            "CAs trusted by verify/secure/MTA-STS; default: the system's trust store");
    public static final Key<String> DNSSEC_TRUST_ANCHORS = key("delivery", "dnssec_trust_anchors", PATH, null, "\"/etc/postern/anchors\"",
            "DS/DNSKEY records DANE validates from; default: the root's KSKs");
    public static final Key<Boolean> MTA_STS = key("delivery", "mta_sts", BOOLEAN, true, "true",
            "apply destinations' MTA-STS policies (RFC 8461) to mail routed by MX");
    public static final Key<Integer> MTA_STS_PORT = key("delivery", "mta_sts_port", POSITIVE_INT, 443, "443",
            "port of the mta-sts.DOMAIN policy servers (443 but in tests)");
    public static final Key<Boolean> TLSRPT_SEND = key("delivery", "tlsrpt_send", BOOLEAN, false, "false",
            "mail each finished day's TLS reports to the domains' _smtp._tls rua");
    public static final Key<Integer> DESTINATION_CONCURRENCY = key("delivery", "destination_concurrency", POSITIVE_INT, 20, "20",
            "parallel deliveries per destination domain");
    public static final Key<Integer> MAX_CONCURRENCY = key("delivery", "max_concurrency", POSITIVE_INT, 100, "100",
            "parallel remote deliveries in all");
    public static final Table DELIVERY = new Table("delivery", "delivery", "mail to other hosts; see \"Sending to other hosts\"",
            List.of(RELAYHOST, RELAY_USER, RELAY_PASSWORD_FILE, DNS_SERVERS, DNS_TIMEOUT, SMTP_PORT, HELO_NAME, BIND_ADDRESS, DELIVERY_TLS,
                    TLS_CA_FILE, DNSSEC_TRUST_ANCHORS, MTA_STS, MTA_STS_PORT, TLSRPT_SEND, DESTINATION_CONCURRENCY, MAX_CONCURRENCY));

    public static final Key<String> AUTHSERV_ID = key("auth", "authserv_id", STRING, null, "\"mx.example.test\"",
            "default: hostname; names this host in Authentication-Results");
    public static final Key<Boolean> VERIFY = key("auth", "verify", BOOLEAN, true, "true",
            "SPF, DKIM, DMARC, ARC for mail from clients neither in relay_networks\n  nor authenticated (default true; false in the loopback-only\n"
                    + "  embedded default)");
    public static final Key<String> DMARC = key("auth", "dmarc", oneOf("enforce", "report"), "enforce", "\"enforce\"",
            "\"enforce\": p=reject → 550 5.7.1, p=quarantine → dmarc_quarantine;\n  \"report\": only record results");
    public static final Key<String> DMARC_QUARANTINE = key("auth", "dmarc_quarantine", oneOf("header", "hold"), "header", "\"header\"",
            "\"header\": accept with X-Postern-Quarantine; \"hold\": accept and hold in the\n"
                    + "  queue (durably, before the 250) for `postern queue release|delete`");
    public static final Key<Boolean> DMARC_REPORTS = key("auth", "dmarc_reports", BOOLEAN, true, "true",
            "one JSON line per DMARC-evaluated message in <data_dir>/dmarc/DAY.jsonl");
    public static final Key<Boolean> DMARC_REPORTS_SEND = key("auth", "dmarc_reports_send", BOOLEAN, false, "false",
            "mail each day's aggregate reports to the rua addresses once it is over\n"
                    + "  (as `postern dmarc report --send`; remembered in <data_dir>/dmarc/sent/)");
    public static final Key<Boolean> DKIM_SIGN = key("auth", "dkim_sign", BOOLEAN, true, "true",
            "sign mail of relay_networks/authenticated users whose From is a local\n  domain, with every key of that domain in dkim_key_dir");
    public static final Key<String> DKIM_KEY_DIR = key("auth", "dkim_key_dir", PATH, null, "\"/var/lib/postern/dkim\"",
            "default <data_dir>/dkim; files DOMAIN.SELECTOR.key, read at start\n  and on SIGHUP / POST /policy/reload");
    public static final Key<String> RECEIVED_FORGERY = key("auth", "received_forgery", oneOf("flag", "reject", "off"), "flag", "\"flag\"",
            "a Received field from the client claiming \"by <hostname>\":\n  \"flag\" (X-Postern-Warning), \"reject\" (550 5.7.1) or \"off\"");
    public static final Key<Boolean> ARC_SEAL = key("auth", "arc_seal", BOOLEAN, false, "false",
            "add an ARC set (RFC 8617) to verified mail, as the last hop");
    public static final Key<String> ARC_SEAL_DOMAIN = key("auth", "arc_seal_domain", STRING, null, "\"example.test\"",
            "whose RSA key in dkim_key_dir seals (ARC defines rsa-sha256 only)");
    public static final Table AUTH = new Table("auth", "auth", null, List.of(AUTHSERV_ID, VERIFY, DMARC, DMARC_QUARANTINE, DMARC_REPORTS,
            DMARC_REPORTS_SEND, DKIM_SIGN, DKIM_KEY_DIR, RECEIVED_FORGERY, ARC_SEAL, ARC_SEAL_DOMAIN));

    public static final Key<String> HOSTNAME = key("", "hostname", STRING, null, "\"mx.example.test\"",
            "default: the machine's host name; used in the greeting and Received");
    public static final Key<String> DATA_DIR = key("", "data_dir", PATH, "postern-data", "\"/var/lib/postern\"",
            "default \"postern-data\"; relative paths are relative to this file");
    public static final Key<List<String>> DOMAINS = key("", "domains", STRINGS, List.of("localhost"), "[\"example.test\"]",
            "local domains; default [\"localhost\"]");
    public static final Key<List<String>> RELAY_NETWORKS = key("", "relay_networks", STRINGS, List.of(), "[\"127.0.0.2/32\"]",
            "clients that may relay without AUTH on \"smtp\" listeners; default []");
    public static final Key<String> USERS_FILE = key("", "users_file", PATH, null, "\"/var/lib/postern/users\"", "default <data_dir>/users");
    public static final Key<String> LOG_FILE = key("", "log_file", PATH, null, "\"/var/log/postern.log\"", "default: standard output only");
    public static final Key<List<String>> RELAY_DOMAINS = key("", "relay_domains", STRINGS, List.of(), "[\"lmtp.example.test\"]",
            "accepted from anyone, passed on by [transport] or MX; default []");
    public static final Key<String> RELAY_RECIPIENTS = key("", "relay_recipients", PATH, null, "\"/etc/postern/relay_recipients\"",
            "their valid addresses (\"user@domain\" or \"@domain\" per\n  line); others get 550 5.1.1 at RCPT; default: not checked this way");
    public static final Key<String> RECIPIENT_DELIMITER = key("", "recipient_delimiter", STRING, "", "\"+\"",
            "alice+tag@ delivers to alice (any of several characters); default \"\" (off)");
    /** The tables: declared at the top level for their names; each table's keys are its own declarations. */
    private static Key<com.fasterxml.jackson.databind.JsonNode> tableKey(String name) { return key("", name, TABLE, null, null, null); }

    public static final Table TOP = new Table("", "", null, List.of(HOSTNAME, DATA_DIR, DOMAINS, RELAY_NETWORKS, USERS_FILE, LOG_FILE,
            RELAY_DOMAINS, RELAY_RECIPIENTS, RECIPIENT_DELIMITER, tableKey("listeners"), tableKey("tls"), tableKey("mta_sts"), tableKey("limits"),
            tableKey("aliases"), tableKey("delivery"), tableKey("tls_policy"), tableKey("transport"), tableKey("queue"), tableKey("admin"), tableKey("policy"),
            tableKey("auth"), tableKey("cluster"), tableKey("recipient_verification"), tableKey("maildir"), tableKey("milter"), tableKey("srs"),
            tableKey("plugins"), tableKey("alerts")));

    public static final Key<String> STS_MODE = key("mta_sts", "mode", oneOf("enforce", "testing", "none"), "enforce", "\"enforce\"",
            "\"enforce\" | \"testing\" | \"none\"");
    public static final Key<List<String>> STS_MX = key("mta_sts", "mx", STRINGS, null, "[\"mx.example.test\"]",
            "default: [hostname]; \"*.example.test\" patterns allowed");
    public static final Key<Duration> STS_MAX_AGE = key("mta_sts", "max_age", DURATION, Duration.ofDays(7), "\"7d\"", "at most about a year");
    public static final Key<String> STS_BIND = key("mta_sts", "bind", STRING, null, "\"0.0.0.0:443\"",
            "serve it over HTTPS with the [tls] certificate; default: not served");
    public static final Table MTA_STS_TABLE = new Table("mta_sts", "mta_sts", "our own MTA-STS policy (RFC 8461); default: none published",
            List.of(STS_MODE, STS_MX, STS_MAX_AGE, STS_BIND));

    public static final Key<String> CLUSTER_DATABASE = key("cluster", "database", STRING, null, "\"postgresql://10.0.0.10:5432/postern\"",
            "required; see \"Running several nodes\"");
    public static final Key<String> CLUSTER_USER = key("cluster", "user", STRING, "postern", "\"postern\"", null);
    public static final Key<String> CLUSTER_PASSWORD_FILE = key("cluster", "password_file", PATH, null, "\"/etc/postern/db.pw\"",
            "optional (trust or peer authentication otherwise)");
    public static final Key<String> CLUSTER_NODE_NAME = key("cluster", "node_name", STRING, null, "\"mx1\"",
            "default: the host name; unique per node");
    public static final Key<Duration> CLUSTER_LEASE = key("cluster", "lease", DURATION, Duration.ofSeconds(60), "\"60s\"",
            "a claimed delivery stays this node's for that long unless renewed");
    public static final Key<String> CLUSTER_MAILBOX_ROOT = key("cluster", "mailbox_root", PATH, null, "\"/srv/mail\"",
            "local Maildirs, shared by every node (an NFS mount, say)");
    public static final Table CLUSTER = new Table("cluster", "cluster", "queue and shared state in PostgreSQL; default: none (one node)",
            List.of(CLUSTER_DATABASE, CLUSTER_USER, CLUSTER_PASSWORD_FILE, CLUSTER_NODE_NAME, CLUSTER_LEASE, CLUSTER_MAILBOX_ROOT));

    private static Key<List<String>> phase(String name, List<String> dflt, String shown) {
        return key("policy", name, STRINGS, dflt, shown, null);
    }

    public static final Key<List<String>> CONNECT = phase("connect", List.of(), "[\"check_client_access\", \"check_dnsbl\"]");
    public static final Key<List<String>> HELO = phase("helo", List.of(), "[\"reject_invalid_helo_hostname\", \"reject_non_fqdn_helo_hostname\"]");
    public static final Key<List<String>> MAIL = phase("mail", List.of(), "[\"reject_non_fqdn_sender\"]");
    public static final Key<List<String>> RCPT = phase("rcpt", List.of("permit_mynetworks", "permit_authenticated", "reject_unauth_destination"),
            "[\"permit_mynetworks\", \"permit_authenticated\", \"reject_non_fqdn_recipient\", \"reject_unauth_destination\"]");
    public static final Key<List<String>> DATA = phase("data", List.of(), "[]");
    public static final Key<List<String>> WARN_ONLY = key("policy", "warn_only", STRINGS, List.of(), "[\"check_dnsbl\"]",
            "these only log \"warn: ... would reject ...; check=NAME\"");
    public static final Key<Integer> DNSBL_THRESHOLD = key("policy", "dnsbl_threshold", POSITIVE_INT, 1, "2",
            "sum of the weights of the lists that name the client (default 1)");
    public static final Key<Duration> GREYLIST_DELAY = key("policy", "greylist_delay", DURATION, Duration.ofMinutes(5), "\"5m\"",
            "greylist: first attempt of a (client /24 or /64, sender, recipient) waits this long");
    public static final Key<Duration> GREYLIST_RETRY_WINDOW = key("policy", "greylist_retry_window", DURATION, Duration.ofDays(2), "\"2d\"",
            "  a retry must come within this window after the delay");
    public static final Key<Duration> GREYLIST_WHITELIST = key("policy", "greylist_whitelist", DURATION, Duration.ofDays(36), "\"36d\"",
            "  after one pass, the client network is not greylisted for this long");
    public static final Key<Integer> CONNECTIONS_PER_MINUTE = key("policy", "connections_per_minute", POSITIVE_INT, 0, "60",
            "rate_limit at connect: per client address (421 4.7.0); default: no limit");
    public static final Key<Integer> RECIPIENTS_PER_MINUTE = key("policy", "recipients_per_minute", POSITIVE_INT, 0, "600",
            "rate_limit at rcpt: per client address or authenticated user (450 4.7.1)");
    public static final Key<Integer> MESSAGES_PER_MINUTE = key("policy", "messages_per_minute", POSITIVE_INT, 0, "120",
            "rate_limit at data: messages per client address or user (450 4.7.1)");
    public static final Key<Integer> AUTH_FAILURE_LIMIT = key("policy", "auth_failure_limit", POSITIVE_INT, 10, "10",
            "failed AUTH per client address within auth_failure_window: further AUTH");
    public static final Key<Duration> AUTH_FAILURE_WINDOW = key("policy", "auth_failure_window", DURATION, Duration.ofMinutes(10), "\"10m\"",
            "  gets 454 4.7.0; reject_auth_failures at connect turns it away (421 4.7.0)");
    public static final Key<Duration> GREET_PAUSE = key("policy", "greet_pause", PAUSE, Duration.ZERO, "\"3s\"",
            "postscreen's pregreet test on \"smtp\" listeners: greet after this pause and\n"
                    + "  turn away clients that talk first (554 5.5.1); default 0 = greet at once;\n"
                    + "  relay_networks are not paused; every connection waits, so keep it short");
    public static final Key<String> SENDER_ACCESS = key("policy", "sender_access", PATH, null, "\"/etc/postern/sender_access\"",
            "files for check_sender_access, check_recipient_access,");
    public static final Key<String> RECIPIENT_ACCESS = key("policy", "recipient_access", PATH, null, "\"/etc/postern/recipient_access\"",
            "check_client_hostname_access: \"key permit|reject|defer [text]\"");
    public static final Key<String> CLIENT_HOSTNAME_ACCESS = key("policy", "client_hostname_access", PATH, null, "\"/etc/postern/hosts\"",
            "per line; re-read on SIGHUP or POST /policy/reload");
    public static final Key<List<String>> SENDER_DBL = key("policy", "sender_dbl", STRINGS, List.of(), "[\"dbl.spamhaus.org\"]",
            "domain block lists for check_sender_dbl (the sender's domain is looked up)");
    public static final Key<com.fasterxml.jackson.databind.JsonNode> DNSBL = key("policy", "dnsbl", TABLE, null, null, "[policy.dnsbl] below");
    public static final Key<com.fasterxml.jackson.databind.JsonNode> CLIENT_ACCESS = key("policy", "client_access", TABLE, null, null,
            "[policy.client_access] below");
    /** The check lists of the SMTP phases, in session order. */
    public static final List<Key<List<String>>> PHASES = List.of(CONNECT, HELO, MAIL, RCPT, DATA);
    /** The allow/block list files of the check_*_access checks (a check's name is "check_" + the key's). */
    public static final List<Key<String>> ACCESS_FILES = List.of(SENDER_ACCESS, RECIPIENT_ACCESS, CLIENT_HOSTNAME_ACCESS);
    public static final Table POLICY = new Table("policy", "policy", "checks per SMTP phase, first match wins (Postfix restriction lists)",
            List.of(CONNECT, HELO, MAIL, RCPT, DATA, WARN_ONLY, DNSBL_THRESHOLD, GREYLIST_DELAY, GREYLIST_RETRY_WINDOW, GREYLIST_WHITELIST,
                    CONNECTIONS_PER_MINUTE, RECIPIENTS_PER_MINUTE, MESSAGES_PER_MINUTE, AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW, GREET_PAUSE,
                    SENDER_ACCESS, RECIPIENT_ACCESS, CLIENT_HOSTNAME_ACCESS, SENDER_DBL, DNSBL, CLIENT_ACCESS));

    public static final Key<String> LISTENER_BIND = key("listeners.NAME", "bind", STRING, null, "\"0.0.0.0:25\"",
            "host:port, IPv6 as \"[::]:25\"; required");
    public static final Key<String> LISTENER_KIND = key("listeners.NAME", "kind", oneOf("smtp", "submission", "smtps"), null, "\"smtp\"",
            "\"smtp\" | \"submission\" | \"smtps\"; required");
    public static final Key<Boolean> PROXY_PROTOCOL = key("listeners.NAME", "proxy_protocol", BOOLEAN, false, "false",
            "behind a load balancer: the PROXY header (v1/v2) names the client; see \"Scaling\"");
    public static final Key<List<String>> PROXY_FROM = key("listeners.NAME", "proxy_from", STRINGS, List.of(), "[]",
            "the balancers' networks; required with proxy_protocol");
    public static final Table LISTENER = new Table("listeners.NAME", "listeners.mx", "any number of [listeners.NAME]; default: the three above",
            List.of(LISTENER_BIND, LISTENER_KIND, PROXY_PROTOCOL, PROXY_FROM));

    public static final Key<String> TLS_CERT = key("tls", "cert", PATH, null, "\"/etc/postern/fullchain.pem\"", "PEM certificate chain");
    public static final Key<String> TLS_KEY = key("tls", "key", PATH, null, "\"/etc/postern/privkey.pem\"",
            "PEM private key (PKCS#8, PKCS#1 or EC)");
    public static final Key<com.fasterxml.jackson.databind.JsonNode> TLS_CERTIFICATES = key("tls", "certificates",
            simpleArray(), null, null, "[[tls.certificates]] below");
    public static final Key<String> ACME_DIRECTORY = key("tls", "acme_directory", STRING, null,
            "\"https://acme-v02.api.letsencrypt.org/directory\"", null);
    public static final Key<String> ACME_EMAIL = key("tls", "acme_email", STRING, null, "\"postmaster@example.test\"",
            "the account's contact; optional");
    public static final Key<List<String>> ACME_DOMAINS = key("tls", "acme_domains", STRINGS, null, "[\"mx.example.test\"]", "default: [hostname]");
    public static final Key<Integer> ACME_HTTP_PORT = key("tls", "acme_http_port", POSITIVE_INT, 80, "80",
            "the HTTP-01 responder, open only while an order runs");
    public static final Key<String> ACME_HTTP_BIND = key("tls", "acme_http_bind", STRING, "0.0.0.0", "\"0.0.0.0\"", null);
    public static final Key<String> ACME_CA_FILE = key("tls", "acme_ca_file", PATH, null, "\"/etc/postern/acme-ca.pem\"",
            "CAs trusted for the directory's HTTPS; default: the system's");
    public static final Key<Duration> ACME_RENEW_BEFORE = key("tls", "acme_renew_before", DURATION, Duration.ofDays(30), "\"30d\"",
            "renew when the certificate expires within this");
    public static final Table TLS = new Table("tls", "tls", "default: self-signed pair in <data_dir>/tls/, made on first start",
            List.of(TLS_CERT, TLS_KEY, TLS_CERTIFICATES), "or, instead of cert/key, a certificate from an ACME CA (see \"Transport security\"):",
            List.of(ACME_DIRECTORY, ACME_EMAIL, ACME_DOMAINS, ACME_HTTP_PORT, ACME_HTTP_BIND, ACME_CA_FILE, ACME_RENEW_BEFORE), false);

    public static final Key<String> MORE_CERT = key("tls.certificates", "cert", PATH, null, "\"/etc/postern/rsa.pem\"", null);
    public static final Key<String> MORE_KEY = key("tls.certificates", "key", PATH, null, "\"/etc/postern/rsa.key\"", null);
    public static final Table TLS_MORE = new Table("tls.certificates", "tls.certificates",
            "more pairs (RSA beside ECDSA, other host names): the pair whose certificate\n"
                    + "  names the client's SNI host and whose key type the handshake can use;\n"
                    + "  the first such pair (cert/key above first) otherwise", List.of(MORE_CERT, MORE_KEY), null, List.of(), true);

    public static final Key<String> PLUGINS_DIR = key("plugins", "dir", PATH, null, "\"/etc/postern/plugins\"",
            "every *.jar here; each declares its dev.postern.policy.CheckPlugin");
    public static final Table PLUGINS = new Table("plugins", "plugins",
            "checks from your own jars, named in [policy] lists; see \"Writing a check\"", List.of(PLUGINS_DIR));

    /**
     * What a reload ("postern reload", SIGHUP) applies in place; every other key keeps its running value until a
     * restart (it owns files, threads or connections). Template tables count whole: any change under
     * [listeners] or [queue.classes] is the listeners' or the classes'.
     */
    public static final Set<Key<?>> LIVE_ON_RELOAD = Set.of(DOMAINS, RELAY_NETWORKS, RELAY_DOMAINS, RELAY_RECIPIENTS, RECIPIENT_DELIMITER,
            tableKeyOf("listeners"), tableKeyOf("aliases"), tableKeyOf("transport"),
            TLS_CERT, TLS_KEY, TLS_CERTIFICATES, RELAYHOST, MIN_BACKOFF, MAX_BACKOFF, MAX_LIFETIME, DELAY_WARNING, CLASSES,
            CONNECT, HELO, MAIL, RCPT, DATA, WARN_ONLY, DNSBL_THRESHOLD, CONNECTIONS_PER_MINUTE, RECIPIENTS_PER_MINUTE, MESSAGES_PER_MINUTE,
            GREET_PAUSE, SENDER_ACCESS, RECIPIENT_ACCESS, CLIENT_HOSTNAME_ACCESS, SENDER_DBL, DNSBL, CLIENT_ACCESS,
            MAX_MESSAGE_SIZE, MAX_RECIPIENTS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP, COMMAND_TIMEOUT, DATA_TIMEOUT,
            tableKeyOf("tls_policy"), DELIVERY_TLS, TLS_CA_FILE, HELO_NAME, BIND_ADDRESS, RELAY_USER, RELAY_PASSWORD_FILE, MTA_STS,
            AUTHSERV_ID, VERIFY, DMARC, DMARC_QUARANTINE, DMARC_REPORTS, DKIM_SIGN, DKIM_KEY_DIR, RECEIVED_FORGERY, ARC_SEAL, ARC_SEAL_DOMAIN);

    /** The top level's declaration of a table by its name. */
    private static Key<?> tableKeyOf(String name) {
        for (Key<?> k : TOP.keys()) if (k.name().equals(name)) return k;
        throw new IllegalArgumentException(name);
    }

    /** The tables declared here, in the README's order. */
    public static final List<Table> TABLES = List.of(TOP, LISTENER, TLS, TLS_MORE, PLUGINS, MTA_STS_TABLE, CLUSTER, RECIPIENT_VERIFICATION, MAILDIR, QUEUE, QUEUE_CLASS, ADMIN, ALERTS, MILTER, SRS, LIMITS,
            DELIVERY, AUTH, POLICY);

    /** A declared table by name (templates by their template), or null. */
    public static Table table(String name) {
        for (Table t : TABLES) if (t.name().equals(name)) return t;
        return null;
    }

    private static Key.Type<com.fasterxml.jackson.databind.JsonNode> simpleArray() { return Key.TABLES; }

    /** The reference of one table as the README shows it: the table line, then each key with its default and meaning. */
    public static String reference(Table t) {
        List<String> lines = new ArrayList<>();
        String header = t.arrayOfTables() ? "[[" + t.shownAs() + "]]" : "[" + t.shownAs() + "]";
        if (!t.name().isEmpty()) lines.add(commented(header, t.doc()));
        for (Key<?> k : t.keys()) {
            if (k.defaultText() == null) continue; // a sub-table, shown as its own table
            lines.add(commented(k.name() + " = " + k.defaultText(), k.doc()));
        }
        if (t.alternativesIntro() != null) lines.add("# " + t.alternativesIntro());
        for (Key<?> k : t.alternatives()) {
            String left = "# " + k.name() + " = " + k.defaultText();
            lines.add(k.doc() == null ? left : (left.length() < ALTERNATIVE_COLUMN ? String.format("%-" + ALTERNATIVE_COLUMN + "s", left) : left + "  ")
                    + "# " + k.doc());
        }
        return String.join("\n", lines) + "\n";
    }

    private static final int COMMENT_COLUMN = 36;
    private static final int ALTERNATIVE_COLUMN = 44;

    private static String commented(String left, String doc) {
        if (doc == null) return left;
        StringBuilder sb = new StringBuilder();
        String[] docLines = doc.split("\n");
        // the comments line up at one column; a longer value pushes its comment two spaces past it
        sb.append(left.length() < COMMENT_COLUMN ? String.format("%-" + COMMENT_COLUMN + "s", left) : left + "  ").append("# ").append(docLines[0]);
        for (int i = 1; i < docLines.length; i++) {
            sb.append('\n').append(" ".repeat(COMMENT_COLUMN)).append("# ").append(docLines[i]);
        }
        return sb.toString();
    }
}
