package dev.postern.config;

import dev.postern.mail.Cidr;
import dev.postern.mail.Nexthop;

import java.net.InetSocketAddress;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The whole configuration. Built only by {@link ConfigLoader}; every field already validated. */
public record Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                     List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                     Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                     QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster, Recipients recipients,
                     Milter milter, Srs srs, Plugins plugins, Alerts alerts) {

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster, Recipients recipients, Milter milter,
                  Srs srs, Plugins plugins) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, srs, plugins, Alerts.DEFAULT);
    }

    /**
     * [alerts]: a queue of queueSize messages or more, a message older than oldestMessage, a destination with at
     * least deferralRatio of its waiting recipients deferred, less than minFreeDiskMb free for the data directory.
     */
    public record Alerts(int queueSize, Duration oldestMessage, double deferralRatio, long minFreeDiskMb) {
        public static final Alerts DEFAULT = new Alerts(Keys.ALERT_QUEUE_SIZE.defaultValue(), Keys.ALERT_OLDEST.defaultValue(),
                Keys.ALERT_DEFERRAL_RATIO.defaultValue(), Keys.ALERT_MIN_FREE_DISK.defaultValue());
    }

    public Config withAlerts(Alerts a) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, srs, plugins, a);
    }

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster, Recipients recipients, Milter milter,
                  Srs srs) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, srs, null, Alerts.DEFAULT);
    }

    /**
     * [plugins]: a directory of jars offering checks (dev.postern.policy.CheckPlugin) and, per check name,
     * the [plugins.NAME] settings handed to it.
     */
    public record Plugins(Path dir, Map<String, Map<String, String>> settings) {}

    public Config withPlugins(Plugins p) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, srs, p, alerts);
    }

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster, Recipients recipients, Milter milter) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, null, null);
    }

    /**
     * [srs]: the Sender Rewriting Scheme for mail local aliases forward to other hosts (postsrsd's settings).
     * secretFile null: {@code <data_dir>/srs.secret}, made on first start.
     */
    public record Srs(String domain, Path secretFile, Set<String> excludeDomains, Duration maxAge) {}

    public Config withSrs(Srs s) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, milter, s, plugins, alerts);
    }

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster, Recipients recipients) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, null, null, null);
    }

    /**
     * [milter]: content filters speaking the milter protocol, in order (Postfix's smtpd_milters). defaultAction
     * is "accept", "reject" or "tempfail" (milter_default_action); the time-outs are Postfix's milter_*_timeout.
     */
    public record Milter(List<String> servers, String defaultAction, Duration connectTimeout, Duration commandTimeout,
                         Duration contentTimeout, boolean afterQueue) {
        public Milter(List<String> servers, String defaultAction, Duration connectTimeout, Duration commandTimeout, Duration contentTimeout) {
            this(servers, defaultAction, connectTimeout, commandTimeout, contentTimeout, false);
        }
    }

    public Config withMilter(Milter m) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, recipients, m, srs, plugins, alerts);
    }

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth, Cluster cluster) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, Recipients.DEFAULT);
    }

    public Config withRecipients(Recipients r) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, cluster, r, milter, srs, plugins, alerts);
    }

    /**
     * Mail for domains other than our own mailboxes', and how recipients are named.
     *
     * @param relayDomains      accepted from anyone and routed by [transport] or MX (Postfix's relay_domains)
     * @param relayRecipients   a file of the relay domains' valid addresses (one per line, "@domain" for all of a
     *                          domain); null = any, or what reject_unverified_recipient finds out
     * @param delimiters        recipient_delimiter: any of these characters starts an address extension; "" = none
     * @param verifyPositive    how long a next hop's "exists" is believed (address_verify_positive_expire_time)
     * @param verifyNegative    how long its "no such user" is believed
     * @param probeTimeout      the longest one probe may take in all; past it the RCPT gets 450 4.1.1
     * @param probeConcurrency  probes at once per destination domain
     * @param subaddressFolders alice+tag goes to alice's Maildir folder .tag when that folder exists
     * @param overQuota         "defer" (4.2.2, retried) or "bounce" (5.2.2) when a Maildir++ quota is exceeded
     * @param mailboxOwner      "user[:group]" that owns Maildirs we create and files we write; null = this process
     */
    public record Recipients(Set<String> relayDomains, Path relayRecipients, String delimiters, Duration verifyPositive,
                             Duration verifyNegative, Duration probeTimeout, int probeConcurrency, boolean subaddressFolders,
                             String overQuota, String mailboxOwner) {
        public static final Recipients DEFAULT = new Recipients(Set.of(), null, "", Keys.VERIFY_POSITIVE.defaultValue(),
                Keys.VERIFY_NEGATIVE.defaultValue(), Keys.PROBE_TIMEOUT.defaultValue(), Keys.PROBE_CONCURRENCY.defaultValue(),
                Keys.SUBADDRESS_FOLDERS.defaultValue(), Keys.OVER_QUOTA.defaultValue(), null);

        public Recipients withRelayDomains(Set<String> d) {
            return new Recipients(d, relayRecipients, delimiters, verifyPositive, verifyNegative, probeTimeout, probeConcurrency,
                    subaddressFolders, overQuota, mailboxOwner);
        }

        public Recipients withDelimiters(String d) {
            return new Recipients(relayDomains, relayRecipients, d, verifyPositive, verifyNegative, probeTimeout, probeConcurrency,
                    subaddressFolders, overQuota, mailboxOwner);
        }
    }

    /** A single node: no [cluster] section. */
    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy, Auth auth) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, auth, null);
    }

    public Config withCluster(Cluster c) {
        return new Config(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, c != null && queue.store() != Store.POSTGRESQL ? queue.withStore(Store.POSTGRESQL) : queue, admin, policy, auth, c,
                recipients, milter, srs, plugins, alerts);
    }

    /**
     * Several nodes as one MTA: state in one PostgreSQL database.
     *
     * @param database     JDBC form without the "jdbc:" prefix, e.g. postgresql://127.0.0.1:5432/postern
     * @param passwordFile null = no password (trust or peer authentication)
     * @param nodeName     unique per node; the host name by default
     * @param lease        how long a claimed delivery stays a node's before others may take it
     * @param mailboxRoot  local Maildirs shared by every node (an NFS mount, say); null = data_dir/mailboxes
     */
    public record Cluster(String database, String user, Path passwordFile, String nodeName, Duration lease, Path mailboxRoot) {
        public String jdbcUrl() { return "jdbc:" + database; }
    }

    public boolean clustered() { return cluster != null; }

    /** The shorter forms, for wiring and tests, leave message verification off: its DNS queries must be asked for. */
    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin, Policy policy) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, policy, Auth.defaults(hostname).withVerify(false));
    }

    /**
     * Email authentication of received mail (SPF, DKIM, DMARC, ARC) and DKIM signing of our own.
     *
     * @param verify          check SPF, DKIM and DMARC on mail from clients that are neither trusted nor authenticated
     * @param dmarc           "enforce" (p=reject refused, p=quarantine per dmarcQuarantine) or "report" (results only)
     * @param dmarcQuarantine "header" (accept, add X-Postern-Quarantine) or "hold" (keep in the queue for review)
     * @param dkimKeyDir      signing keys as DOMAIN.SELECTOR.key (PKCS#8 PEM); null = data_dir/dkim
     * @param receivedForgery "flag", "reject" or "off": Received fields claiming to come from this host
     * @param arcSeal         add an ARC set (RFC 8617) to mail we verify, with the first key of arcSealDomain
     */
    public record Auth(String authservId, boolean verify, String dmarc, String dmarcQuarantine, boolean dkimSign,
                       Path dkimKeyDir, String receivedForgery, boolean dmarcReports, boolean arcSeal, String arcSealDomain,
                       boolean dmarcReportsSend) {
        public Auth(String authservId, boolean verify, String dmarc, String dmarcQuarantine, boolean dkimSign,
                    Path dkimKeyDir, String receivedForgery, boolean dmarcReports, boolean arcSeal, String arcSealDomain) {
            this(authservId, verify, dmarc, dmarcQuarantine, dkimSign, dkimKeyDir, receivedForgery, dmarcReports, arcSeal, arcSealDomain, false);
        }

        public static Auth defaults(String hostname) {
            return new Auth(hostname, Keys.VERIFY.defaultValue(), Keys.DMARC.defaultValue(), Keys.DMARC_QUARANTINE.defaultValue(),
                    Keys.DKIM_SIGN.defaultValue(), null, Keys.RECEIVED_FORGERY.defaultValue(), Keys.DMARC_REPORTS.defaultValue(),
                    Keys.ARC_SEAL.defaultValue(), null, Keys.DMARC_REPORTS_SEND.defaultValue());
        }

        public Auth withVerify(boolean v) {
            return new Auth(authservId, v, dmarc, dmarcQuarantine, dkimSign, dkimKeyDir, receivedForgery, dmarcReports, arcSeal,
                    arcSealDomain, dmarcReportsSend);
        }
    }

    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile, Delivery delivery, Map<String, Nexthop> transports,
                  QueueSettings queue, Admin admin) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile, delivery,
                transports, queue, admin, Policy.DEFAULT, Auth.defaults(hostname).withVerify(false));
    }

    /**
     * Checks per SMTP phase, by name, first match wins (Postfix restriction lists). The rcpt list must
     * contain reject_unauth_destination or reject, so no configuration can make an open relay.
     */
    public record Policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> dnsblZones,
                         int dnsblThreshold, Map<Cidr, String> clientAccess, Duration greylistDelay,
                         Duration greylistRetryWindow, Duration greylistWhitelist, int connectionsPerMinute,
                         int recipientsPerMinute, List<String> senderDbl, Map<String, Path> accessFiles,
                         int messagesPerMinute, int authFailureLimit, Duration authFailureWindow, Duration greetPause) {

        public Policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> dnsblZones,
                      int dnsblThreshold, Map<Cidr, String> clientAccess, Duration greylistDelay, Duration greylistRetryWindow,
                      Duration greylistWhitelist, int connectionsPerMinute, int recipientsPerMinute, List<String> senderDbl,
                      Map<String, Path> accessFiles, int messagesPerMinute, int authFailureLimit, Duration authFailureWindow) {
            this(phases, warnOnly, dnsblZones, dnsblThreshold, clientAccess, greylistDelay, greylistRetryWindow, greylistWhitelist,
                    connectionsPerMinute, recipientsPerMinute, senderDbl, accessFiles, messagesPerMinute, authFailureLimit,
                    authFailureWindow, Keys.GREET_PAUSE.defaultValue());
        }

        public Policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> dnsblZones,
                      int dnsblThreshold, Map<Cidr, String> clientAccess, Duration greylistDelay, Duration greylistRetryWindow,
                      Duration greylistWhitelist, int connectionsPerMinute, int recipientsPerMinute, List<String> senderDbl,
                      Map<String, Path> accessFiles) {
            this(phases, warnOnly, dnsblZones, dnsblThreshold, clientAccess, greylistDelay, greylistRetryWindow, greylistWhitelist,
                    connectionsPerMinute, recipientsPerMinute, senderDbl, accessFiles, Keys.MESSAGES_PER_MINUTE.defaultValue(),
                    Keys.AUTH_FAILURE_LIMIT.defaultValue(), Keys.AUTH_FAILURE_WINDOW.defaultValue());
        }

        public static final Set<String> ACCESS_TABLES = Keys.ACCESS_FILES.stream().map(Key::name).collect(java.util.stream.Collectors.toUnmodifiableSet());

        public Policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> dnsblZones,
                      int dnsblThreshold, Map<Cidr, String> clientAccess, Duration greylistDelay, Duration greylistRetryWindow,
                      Duration greylistWhitelist, int connectionsPerMinute, int recipientsPerMinute, List<String> senderDbl) {
            this(phases, warnOnly, dnsblZones, dnsblThreshold, clientAccess, greylistDelay, greylistRetryWindow, greylistWhitelist,
                    connectionsPerMinute, recipientsPerMinute, senderDbl, Map.of());
        }

        public Policy(Map<String, List<String>> phases, Set<String> warnOnly, Map<String, Integer> dnsblZones,
                      int dnsblThreshold, Map<Cidr, String> clientAccess) {
            this(phases, warnOnly, dnsblZones, dnsblThreshold, clientAccess, Keys.GREYLIST_DELAY.defaultValue(),
                    Keys.GREYLIST_RETRY_WINDOW.defaultValue(), Keys.GREYLIST_WHITELIST.defaultValue(), Keys.CONNECTIONS_PER_MINUTE.defaultValue(),
                    Keys.RECIPIENTS_PER_MINUTE.defaultValue(), List.of());
        }

        public static final Set<String> CHECKS = Set.of("permit_mynetworks", "permit_authenticated", "reject_unauth_destination",
                "check_client_access", "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname", "reject_non_fqdn_sender",
                "reject_non_fqdn_recipient", "check_dnsbl", "reject", "greylist", "rate_limit", "reject_unknown_client_hostname",
                "check_sender_dbl", "check_sender_access", "check_recipient_access", "check_client_hostname_access",
                "reject_spf_fail", "reject_auth_failures", "reject_sender_login_mismatch", "reject_unverified_recipient");
        /** Rates of 0 mean no limit. */
        public static final Policy DEFAULT = new Policy(
                Map.of("rcpt", Keys.RCPT.defaultValue()), Set.of(), Map.of(), Keys.DNSBL_THRESHOLD.defaultValue(), Map.of());
    }

    /** Compact form used by tests and the embedded default: delivery, transports, queue and admin defaults. */
    public Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                  List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                  Path usersFile, Path logFile) {
        this(hostname, dataDir, domains, relayNetworks, listeners, tls, limits, aliases, usersFile, logFile,
                Delivery.defaults(hostname), Map.of(), QueueSettings.DEFAULT, new Admin("127.0.0.1", 0), Policy.DEFAULT,
                Auth.defaults(hostname).withVerify(false)); // no DNS for verification unless a configuration asks
    }

    /** Outbound TLS levels, Postfix's smtp_tls_security_level names (see dev.postern.tls.TlsLevel). */
    public enum TlsMode { NONE, MAY, ENCRYPT, VERIFY, SECURE, DANE, DANE_ONLY }

    /**
     * Outbound delivery. dnsServers empty means the system resolver. relayhost null means MX routing.
     */
    public record Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                           int smtpPort, String heloName, String bindAddress, TlsMode tls,
                           int destinationConcurrency, int maxConcurrency, Duration dnsTimeout, Path tlsCaFile,
                           Map<String, TlsMode> tlsPolicy, boolean mtaSts, int mtaStsPort, boolean tlsrptSend,
                           Path dnssecTrustAnchors) {
        /** The same settings with another relayhost (what a reload compares apart from the relayhost). */
        public Delivery withRelayhost(Nexthop r) {
            return new Delivery(r, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, tlsrptSend, dnssecTrustAnchors);
        }


        public Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                        int smtpPort, String heloName, String bindAddress, TlsMode tls, int destinationConcurrency, int maxConcurrency,
                        Duration dnsTimeout, Path tlsCaFile, Map<String, TlsMode> tlsPolicy, boolean mtaSts, int mtaStsPort, boolean tlsrptSend) {
            this(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, tlsrptSend, null);
        }

        /** [delivery] dnssec_trust_anchors: DS or DNSKEY records DANE validates from (null: the root zone's). */
        public Delivery withDnssecTrustAnchors(Path file) {
            return new Delivery(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls,
                    destinationConcurrency, maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, tlsrptSend, file);
        }

        /** Whether any destination's level is dane or dane-only (then DNSSEC-validated lookups are set up). */
        public boolean usesDane() {
            return tls == TlsMode.DANE || tls == TlsMode.DANE_ONLY
                    || tlsPolicy.values().stream().anyMatch(m -> m == TlsMode.DANE || m == TlsMode.DANE_ONLY);
        }

        public Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                        int smtpPort, String heloName, String bindAddress, TlsMode tls, int destinationConcurrency, int maxConcurrency,
                        Duration dnsTimeout, Path tlsCaFile, Map<String, TlsMode> tlsPolicy, boolean mtaSts, int mtaStsPort) {
            this(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, false);
        }

        /** [delivery] tlsrpt_send: mail each finished day's TLS reports to the policy domains (RFC 8460 5.3). */
        public Delivery withTlsrptSend(boolean on) {
            return new Delivery(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls,
                    destinationConcurrency, maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, on, dnssecTrustAnchors);
        }

        public Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                        int smtpPort, String heloName, String bindAddress, TlsMode tls, int destinationConcurrency, int maxConcurrency,
                        Duration dnsTimeout, Path tlsCaFile, Map<String, TlsMode> tlsPolicy) {
            this(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, true, 443);
        }

        /** MTA-STS for mail routed by MX (RFC 8461); the port of mta-sts.DOMAIN is 443 except in tests. */
        public Delivery withMtaSts(boolean on, int port) {
            return new Delivery(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls,
                    destinationConcurrency, maxConcurrency, dnsTimeout, tlsCaFile, tlsPolicy, on, port, tlsrptSend, dnssecTrustAnchors);
        }

        public Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                        int smtpPort, String heloName, String bindAddress, TlsMode tls, int destinationConcurrency, int maxConcurrency,
                        Duration dnsTimeout) {
            this(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, dnsTimeout, null, Map.of());
        }

        /** [delivery] tls_ca_file (null: the system's CAs) and the [tls_policy] table. */
        public Delivery withTls(TlsMode level, Path caFile, Map<String, TlsMode> policy) {
            return new Delivery(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, level,
                    destinationConcurrency, maxConcurrency, dnsTimeout, caFile, policy, mtaSts, mtaStsPort, tlsrptSend, dnssecTrustAnchors);
        }

        /** Whether any destination's level asks who the peer is (then the trusted CAs are loaded). */
        public boolean authenticatesPeers() {
            return tls == TlsMode.VERIFY || tls == TlsMode.SECURE
                    || tlsPolicy.values().stream().anyMatch(m -> m == TlsMode.VERIFY || m == TlsMode.SECURE);
        }

        /** How long one question to the DNS may take, and the most any one check phase waits on the DNS in all. */
        public static final Duration DEFAULT_DNS_TIMEOUT = Keys.DNS_TIMEOUT.defaultValue();

        public Delivery(Nexthop relayhost, String relayUser, Path relayPasswordFile, List<InetSocketAddress> dnsServers,
                        int smtpPort, String heloName, String bindAddress, TlsMode tls, int destinationConcurrency, int maxConcurrency) {
            this(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls, destinationConcurrency,
                    maxConcurrency, DEFAULT_DNS_TIMEOUT);
        }

        public static Delivery defaults(String hostname) {
            return new Delivery(null, null, null, List.of(), Keys.SMTP_PORT.defaultValue(), hostname, null,
                    TlsMode.valueOf(Keys.DELIVERY_TLS.defaultValue().toUpperCase(java.util.Locale.ROOT)),
                    Keys.DESTINATION_CONCURRENCY.defaultValue(), Keys.MAX_CONCURRENCY.defaultValue());
        }

        public Delivery withDnsTimeout(Duration t) {
            return new Delivery(relayhost, relayUser, relayPasswordFile, dnsServers, smtpPort, heloName, bindAddress, tls,
                    destinationConcurrency, maxConcurrency, t, tlsCaFile, tlsPolicy, mtaSts, mtaStsPort, tlsrptSend, dnssecTrustAnchors);
        }
    }

    /** "log": the group-commit log (default); "files": one file per message, Postfix style; "postgresql": [cluster]'s database. */
    public enum Store { LOG, FILES, POSTGRESQL }

    /** Times are Postfix's defaults: minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime, delay_warning_time. */
    public record QueueSettings(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, Duration delayWarning, Store store,
                                Map<String, QueueClass> classes) {
        public static final QueueSettings DEFAULT = new QueueSettings(Keys.MIN_BACKOFF.defaultValue(), Keys.MAX_BACKOFF.defaultValue(),
                Keys.MAX_LIFETIME.defaultValue(), Keys.DELAY_WARNING.defaultValue(),
                Store.valueOf(Keys.STORE.defaultValue().toUpperCase(java.util.Locale.ROOT)), QueueClass.DEFAULTS);

        public QueueSettings withStore(Store s) { return new QueueSettings(minBackoff, maxBackoff, maxLifetime, delayWarning, s, classes); }
    }

    /**
     * A delivery priority class ([queue.classes.NAME]: notices, submission, relay, bulk): the percent of the
     * delivery threads reserved for it, and its own backoff (null: [queue]'s).
     */
    public record QueueClass(int share, Duration minBackoff, Duration maxBackoff) {
        public static final java.util.List<String> NAMES = java.util.List.of("notices", "submission", "relay", "bulk");
        /** Reserved: notices 10%, submission 20%, relay 20%, bulk 10%; the other 40% shared by all. */
        public static final Map<String, QueueClass> DEFAULTS = Map.of("notices", new QueueClass(10, null, null),
                "submission", new QueueClass(20, null, null), "relay", new QueueClass(20, null, null), "bulk", new QueueClass(10, null, null));
    }

    /** The loopback-only admin endpoint used by "postern queue". Port 0 picks a free port. */
    /**
     * The admin endpoint (API and web console). Loopback by default; bound elsewhere it serves HTTPS with the
     * [tls] certificate. users: accounts that may log in to the console (besides anyone holding the token).
     */
    public record Admin(String host, int port, List<String> users) {
        public Admin(String host, int port) { this(host, port, List.of()); }

        public boolean loopback() { return host.equals("127.0.0.1") || host.equals("::1") || host.equals("localhost"); }
    }

    public Path adminTokenFile() { return dataDir.resolve("admin.token"); }

    public Path adminPortFile() { return dataDir.resolve("admin.port"); }

    public enum Kind { SMTP, SUBMISSION, SMTPS }

    /**
     * A listening address. proxyFrom non-empty: the PROXY protocol (v1 or v2, as HAProxy sends it) is required
     * of every connection, and accepted only from these balancer networks.
     */
    public record Listener(String name, String host, int port, Kind kind, List<Cidr> proxyFrom) {
        public Listener(String name, String host, int port, Kind kind) { this(name, host, port, kind, List.of()); }

        public String bind() { return (host.contains(":") ? "[" + host + "]" : host) + ":" + port; }

        public boolean proxyProtocol() { return !proxyFrom.isEmpty(); }
    }

    /**
     * PEM certificate chain and private key; null paths mean "generate a self-signed pair in data_dir". servePolicy:
     * our own MTA-STS policy and where to serve it over HTTPS (null = not served).
     */
    public record Tls(Path cert, Path key, MtaStsServe servePolicy, List<CertPair> more, Acme acme) {
        public Tls(Path cert, Path key) { this(cert, key, null, List.of(), null); }

        public Tls(Path cert, Path key, MtaStsServe servePolicy) { this(cert, key, servePolicy, List.of(), null); }

        public Tls(Path cert, Path key, MtaStsServe servePolicy, List<CertPair> more) { this(cert, key, servePolicy, more, null); }

        public Tls withAcme(Acme a) { return new Tls(cert, key, servePolicy, more, a); }

        public boolean selfSigned() { return cert == null; }
    }

    /**
     * The listeners' certificate from an ACME CA (RFC 8555): [tls] acme_directory, acme_email, acme_domains
     * (default: the hostname), the HTTP-01 responder's address (acme_http_bind, acme_http_port: 80), the CAs
     * trusted for the directory's HTTPS (acme_ca_file; default the system's), and how long before expiry a
     * certificate is renewed (acme_renew_before: 30 days).
     */
    public record Acme(java.net.URI directory, String email, List<String> domains, String httpBind, int httpPort, Path caFile,
                       Duration renewBefore) {}

    /** One more certificate and key ([[tls.certificates]]): chosen by the client's SNI and key type; the first pair is the default. */
    public record CertPair(Path cert, Path key) {}

    /**
     * [mta_sts]: the policy this server publishes for its domains (RFC 8461 3.2), served at
     * https://mta-sts.DOMAIN/.well-known/mta-sts.txt from bind (host:port; null = print it for dns-records only).
     */
    public record MtaStsServe(String mode, List<String> mx, Duration maxAge, String bindHost, int bindPort) {
        /** The policy file's text. */
        public String policyText() {
            StringBuilder sb = new StringBuilder("version: STSv1\r\nmode: ").append(mode).append("\r\n");
            for (String m : mx) sb.append("mx: ").append(m).append("\r\n");
            return sb.append("max_age: ").append(maxAge.toSeconds()).append("\r\n").toString();
        }

        /** The TXT record's id: changes whenever the policy does, so senders fetch it again (RFC 8461 3.1). */
        public String policyId() {
            try {
                byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(policyText().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                return java.util.HexFormat.of().formatHex(h, 0, 10);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public record Limits(long maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerIp,
                         Duration commandTimeout, Duration dataTimeout) {}

    public Path queueDir() { return dataDir.resolve("queue"); }

    public Path mailboxesDir() {
        return cluster != null && cluster.mailboxRoot() != null ? cluster.mailboxRoot() : dataDir.resolve("mailboxes");
    }

    /** DKIM signing keys, DOMAIN.SELECTOR.key: [auth] dkim_key_dir, else data_dir/dkim. */
    public Path dkimKeyDir() { return auth.dkimKeyDir() != null ? auth.dkimKeyDir() : dataDir.resolve("dkim"); }

    /** Recorded DMARC results (DAY.jsonl) and what became of them (reports/, sent/). */
    public Path dmarcDir() { return dataDir.resolve("dmarc"); }

    public boolean isLocalDomain(String domain) { return domains.contains(domain); }

    /** Recipient verification answers (verify.db) kept across restarts. */
    public Path verifyCacheFile() { return dataDir.resolve("verify.db"); }

    /** TLS-RPT session counts per day (DAY.tsv) and the reports made from them (reports/). */
    public Path tlsReportsDir() { return dataDir.resolve("tlsrpt"); }

    /** The ACME account key and the certificate obtained with its key. */
    public Path acmeDir() { return dataDir.resolve("acme"); }

    /** MTA-STS policies fetched for destinations, kept for their max_age across restarts. */
    public Path mtaStsCacheFile() { return dataDir.resolve("mta-sts.db"); }
}
