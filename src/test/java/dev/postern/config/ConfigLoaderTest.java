package dev.postern.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ConfigLoaderTest {
    @TempDir Path dir;

    Path write(String toml) throws Exception {
        Path f = dir.resolve("postern.toml");
        Files.writeString(f, toml);
        return f;
    }

    ConfigException errors(String toml) throws Exception {
        Path f = write(toml);
        return catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f, false));
    }

    @Test void completeExampleLoads() throws Exception {
        Config c = ConfigLoader.load(write("""
                hostname = "mx.example.test"
                data_dir = "data"
                domains = ["example.test", "Other.Test"]
                relay_networks = ["127.0.0.2/32", "::1/128"]

                [listeners.mx]
                bind = "127.0.0.1:2525"
                kind = "smtp"

                [listeners.submission]
                bind = "[::1]:2587"
                kind = "submission"

                [limits]
                max_message_size = 1048576
                max_recipients = 50
                max_connections = 100
                max_connections_per_ip = 5
                command_timeout = "5m"
                data_timeout = 180

                [aliases]
                "postmaster@example.test" = ["alice@example.test"]
                "info@other.test" = "bob@example.test"
                """), false);
        assertThat(c.hostname()).isEqualTo("mx.example.test");
        assertThat(c.dataDir()).isEqualTo(dir.resolve("data"));
        assertThat(c.domains()).containsExactly("example.test", "other.test");
        assertThat(c.listeners()).hasSize(2);
        assertThat(c.listeners().get(1).host()).isEqualTo("::1");
        assertThat(c.limits().maxRecipients()).isEqualTo(50);
        assertThat(c.limits().dataTimeout().toSeconds()).isEqualTo(180);
        assertThat(c.limits().commandTimeout().toMinutes()).isEqualTo(5);
        assertThat(c.aliases()).containsEntry("info@other.test", java.util.List.of("bob@example.test"));
    }

    @Test void clusterAndProxySettingsAreCheckedWithKeyAndLine() throws Exception {
        var e = errors("""
                domains = ["example.test"]
                [listeners.mx]
                bind = "127.0.0.1:2525"
                kind = "smtp"
                proxy_protocol = true
                [queue]
                store = "files"
                [cluster]
                database = "mysql://db/postern"
                node_name = "bad name"
                lease = "1s"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains("listeners.mx.proxy_from: required with proxy_protocol"))
                .anyMatch(p -> p.contains(":7: queue.store: a [cluster] keeps the queue in PostgreSQL"))
                .anyMatch(p -> p.contains(":9: cluster.database: expected postgresql://HOST[:PORT]/DATABASE"))
                .anyMatch(p -> p.contains(":10: cluster.node_name:"))
                .anyMatch(p -> p.contains(":11: cluster.lease: must be at least 5s"));
        var ok = ConfigLoader.load(write("""
                domains = ["example.test"]
                [listeners.mx]
                bind = "127.0.0.1:2525"
                kind = "smtp"
                proxy_protocol = true
                proxy_from = ["10.0.0.5/32"]
                [cluster]
                database = "postgresql://127.0.0.1:5432/postern"
                node_name = "mx1"
                mailbox_root = "/srv/mail"
                """), false);
        assertThat(ok.listeners().get(0).proxyProtocol()).isTrue();
        assertThat(ok.queue().store()).isEqualTo(Config.Store.POSTGRESQL);
        assertThat(ok.cluster().lease()).isEqualTo(java.time.Duration.ofSeconds(60));
        assertThat(ok.mailboxesDir()).isEqualTo(java.nio.file.Path.of("/srv/mail"));
    }

    @Test void unknownKeyNamesKeyAndLine() throws Exception {
        var e = errors("""
                hostname = "mx.example.test"
                domians = ["example.test"]
                [limits]
                max_recipient = 5
                """);
        assertThat(e.problems()).anyMatch(p -> p.endsWith("postern.toml:2: domians: unknown key (known here: admin, alerts, aliases, auth, cluster, data_dir, delivery, domains, hostname, limits, listeners, log_file, maildir, milter, mta_sts, plugins, policy, queue, recipient_delimiter, recipient_verification, relay_domains, relay_networks, relay_recipients, srs, tls, tls_policy, transport, users_file)"));
        assertThat(e.problems()).anyMatch(p -> p.contains("postern.toml:4: limits.max_recipient: unknown key"));
    }

    @Test void badValuesNameKeyAndLine() throws Exception {
        var e = errors("""
                domains = ["example.test", "bad domain"]
                relay_networks = ["10.0.0.0/33"]

                [listeners.smtp]
                bind = "127.0.0.1:99999"
                kind = "smtp"

                [listeners.other]
                bind = "127.0.0.1:2526"
                kind = "lmtp"

                [limits]
                max_recipients = -1
                data_timeout = "soon"

                [aliases]
                "not an address" = ["alice@example.test"]
                "info@elsewhere.test" = ["alice@example.test"]
                "sales@example.test" = ["@@"]
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":1: domains: not a valid domain: bad domain"))
                .anyMatch(p -> p.contains(":2: relay_networks: not a network in CIDR notation: 10.0.0.0/33"))
                .anyMatch(p -> p.contains(":5: listeners.smtp.bind: expected host:port"))
                .anyMatch(p -> p.contains(":10: listeners.other.kind: expected one of \"smtp\", \"submission\", \"smtps\", got \"lmtp\""))
                .anyMatch(p -> p.contains(":13: limits.max_recipients: expected a positive integer"))
                .anyMatch(p -> p.contains(":14: limits.data_timeout: expected a duration"))
                .anyMatch(p -> p.contains(":17: aliases.not an address: not a valid address"))
                .anyMatch(p -> p.contains(":18: aliases.info@elsewhere.test: alias info@elsewhere.test is not in a local domain"))
                .anyMatch(p -> p.contains(":19: aliases.sales@example.test: not a valid target address"));
    }

    @Test void missingCertificateFile() throws Exception {
        var e = errors("""
                domains = ["example.test"]
                [tls]
                cert = "/nonexistent/cert.pem"
                key = "/nonexistent/key.pem"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":3: tls.cert: cannot read certificate file /nonexistent/cert.pem"))
                .anyMatch(p -> p.contains(":4: tls.key: cannot read key file"));
        assertThat(errors("[tls]\ncert = \"x.pem\"\n").problems()).anyMatch(p -> p.contains("tls.key: tls.cert and tls.key must be given together"));
    }

    @Test void syntaxErrorNamesLine() throws Exception {
        var e = errors("domains = [\"example.test\"]\nhostname = \n");
        assertThat(e.problems()).singleElement().asString().contains("postern.toml:2").contains("TOML syntax error");
    }

    @Test void portInUseIsReportedWhenProbing() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path f = write("[listeners.smtp]\nbind = \"127.0.0.1:" + taken.getLocalPort() + "\"\nkind = \"smtp\"\n");
            assertThat(ConfigLoader.load(f, false).listeners()).hasSize(1);
            assertThatThrownBy(() -> ConfigLoader.load(f, true)).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("postern.toml:2: listeners.smtp.bind: cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
    }

    @Test void relayDomainsDelimiterVerificationAndMaildirSettingsLoad() throws Exception {
        Files.writeString(dir.resolve("relay-recipients"), "alice@lmtp.test\n@all.test\n");
        Config c = ConfigLoader.load(write("""
                domains = ["example.test"]
                relay_domains = ["LMTP.test", "all.test"]
                relay_recipients = "relay-recipients"
                recipient_delimiter = "+-"

                [transport]
                "lmtp.test" = "lmtp:unix:/run/dovecot/lmtp"

                [policy]
                rcpt = ["permit_mynetworks", "reject_unauth_destination", "reject_unverified_recipient"]

                [recipient_verification]
                positive_ttl = "7d"
                negative_ttl = "30m"
                probe_timeout = "20s"
                probe_concurrency = 2

                [maildir]
                subaddress_folders = true
                over_quota = "bounce"
                owner = "mail"
                """), false);
        Config.Recipients r = c.recipients();
        assertThat(r.relayDomains()).containsExactlyInAnyOrder("lmtp.test", "all.test");
        assertThat(r.relayRecipients()).isEqualTo(dir.resolve("relay-recipients"));
        assertThat(r.delimiters()).isEqualTo("+-");
        assertThat(r.verifyPositive()).hasDays(7);
        assertThat(r.verifyNegative()).hasMinutes(30);
        assertThat(r.probeTimeout()).hasSeconds(20);
        assertThat(r.probeConcurrency()).isEqualTo(2);
        assertThat(r.subaddressFolders()).isTrue();
        assertThat(r.overQuota()).isEqualTo("bounce");
        assertThat(r.mailboxOwner()).isEqualTo("mail");
        var lmtp = c.transports().get("lmtp.test");
        assertThat(lmtp.isLmtp()).isTrue();
        assertThat(lmtp.socketPath()).isEqualTo("/run/dovecot/lmtp");
        assertThat(lmtp).hasToString("lmtp:unix:/run/dovecot/lmtp");
    }

    @Test void badRelayAndMaildirSettingsNameTheirKeyAndLine() throws Exception {
        ConfigException e = errors("""
                domains = ["example.test"]
                relay_domains = ["example.test", "not a domain"]
                recipient_delimiter = "@"
                relay_recipients = "missing-file"

                [policy]
                mail = ["reject_unverified_recipient"]

                [maildir]
                over_quota = "sometimes"
                owner = "no-such-user-here"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":2: relay_domains: example.test is also in domains"))
                .anyMatch(p -> p.contains(":2: relay_domains: not a valid domain: not a domain"))
                .anyMatch(p -> p.contains(":3: recipient_delimiter:"))
                .anyMatch(p -> p.contains(":4: relay_recipients: cannot read"))
                .anyMatch(p -> p.contains("reject_unverified_recipient"))
                .anyMatch(p -> p.contains(":10: maildir.over_quota: expected one of \"defer\", \"bounce\", got \"sometimes\""))
                .anyMatch(p -> p.contains(":11: maildir.owner: no such user or group"));
    }

    @Test void milterSrsAndPluginSettingsLoadAndBadOnesAreNamed() throws Exception {
        Path plugins = Files.createDirectories(dir.resolve("plugins"));
        Files.writeString(dir.resolve("srs.secret"), "s\n");
        Config c = ConfigLoader.load(write("""
                domains = ["example.test"]
                [milter]
                servers = ["inet:127.0.0.1:11332", "unix:/run/opendkim/opendkim.sock"]
                after_queue = true
                [srs]
                domain = "example.test"
                secret_file = "srs.secret"
                [plugins]
                dir = "plugins"
                [plugins.my_check]
                limit = 3
                """), false);
        assertThat(c.milter().servers()).hasSize(2);
        assertThat(c.milter().defaultAction()).isEqualTo("tempfail");
        assertThat(c.milter().contentTimeout()).isEqualTo(java.time.Duration.ofSeconds(300));
        assertThat(c.milter().afterQueue()).isTrue();
        assertThat(c.srs().maxAge()).isEqualTo(java.time.Duration.ofDays(21));
        assertThat(c.plugins().dir()).isEqualTo(plugins);
        assertThat(c.plugins().settings()).containsEntry("my_check", java.util.Map.of("limit", "3"));
        ConfigException e = errors("""
                domains = ["example.test"]
                [milter]
                servers = ["tcp:127.0.0.1"]
                default_action = "ignore"
                [srs]
                domain = "other.test"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":3: milter.servers: expected \"inet:HOST:PORT\" or \"unix:/PATH\", got \"tcp:127.0.0.1\""))
                .anyMatch(p -> p.contains(":4: milter.default_action: expected one of \"accept\", \"reject\", \"tempfail\", got \"ignore\""))
                .anyMatch(p -> p.contains(":6: srs.domain: other.test is not one of domains"));
    }

    @Test void queueClassesLoadOverTheirDefaultsAndBadOnesAreNamed() throws Exception {
        Config c = ConfigLoader.load(write("""
                [queue.classes.submission]
                share = 40
                min_backoff = "1m"
                max_backoff = "10m"
                [queue.classes.bulk]
                share = 5
                """), false);
        var classes = c.queue().classes();
        assertThat(classes.get("submission")).isEqualTo(new Config.QueueClass(40, java.time.Duration.ofMinutes(1), java.time.Duration.ofMinutes(10)));
        assertThat(classes.get("bulk").share()).isEqualTo(5);
        assertThat(classes.get("notices")).isEqualTo(Config.QueueClass.DEFAULTS.get("notices"));
        assertThat(ConfigLoader.load(write(""), false).queue().classes()).isEqualTo(Config.QueueClass.DEFAULTS);
        ConfigException e = errors("""
                [queue.classes.vip]
                share = 10
                [queue.classes.relay]
                share = 90
                min_backoff = "1h"
                max_backoff = "1m"
                speed = 3
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":1: queue.classes.vip: unknown class; the classes are notices, submission, relay, bulk"))
                .anyMatch(p -> p.contains(":5: queue.classes.relay.min_backoff: must not exceed max_backoff"))
                .anyMatch(p -> p.contains(":7: queue.classes.relay.speed: unknown key"))
                .anyMatch(p -> p.contains("queue.classes: the shares add up to 130%"));
    }

    @Test void acmeSettingsLoadWithDefaultsAndBadOnesAreNamed() throws Exception {
        Config c = ConfigLoader.load(write("""
                hostname = "mx.example.test"
                [tls]
                acme_directory = "https://acme-v02.api.letsencrypt.org/directory"
                acme_email = "postmaster@example.test"
                """), false);
        Config.Acme a = c.tls().acme();
        assertThat(a.directory().toString()).isEqualTo("https://acme-v02.api.letsencrypt.org/directory");
        assertThat(a.domains()).containsExactly("mx.example.test");
        assertThat(a.httpPort()).isEqualTo(80);
        assertThat(a.httpBind()).isEqualTo("0.0.0.0");
        assertThat(a.renewBefore()).isEqualTo(java.time.Duration.ofDays(30));
        assertThat(ConfigLoader.load(write("hostname = \"mx.example.test\"\n"), false).tls().acme()).isNull();
        Files.writeString(dir.resolve("c.pem"), "");
        Files.writeString(dir.resolve("k.pem"), "");
        ConfigException e = errors("""
                [tls]
                cert = "c.pem"
                key = "k.pem"
                acme_directory = "http://ca.example/dir"
                acme_email = "nobody"
                acme_domains = ["bad..name"]
                acme_http_port = 70000
                acme_renew_before = "soon"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":4: tls.acme_directory: expected the https:// URL"))
                .anyMatch(p -> p.contains("tls.acme_directory: set either tls.cert/tls.key or tls.acme_directory"))
                .anyMatch(p -> p.contains(":5: tls.acme_email: expected an e-mail address"))
                .anyMatch(p -> p.contains(":6: tls.acme_domains: not a valid host name: bad..name"))
                .anyMatch(p -> p.contains(":7: tls.acme_http_port: expected a port number"))
                .anyMatch(p -> p.contains(":8: tls.acme_renew_before: expected a duration"));
        assertThat(errors("[tls]\nacme_email = \"a@b.test\"\n").problems()).anyMatch(p -> p.contains("tls.acme_email: needs tls.acme_directory"));
    }

    @Test void tlsLevelsPolicyAndDaneLoad() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "");
        Config c = ConfigLoader.load(write("""
                [delivery]
                tls = "verify"
                tls_ca_file = "ca.pem"

                [tls_policy]
                "example.com" = "secure"
                ".example.org" = "none"
                """), false);
        assertThat(c.delivery().tls()).isEqualTo(Config.TlsMode.VERIFY);
        assertThat(c.delivery().tlsCaFile()).isEqualTo(dir.resolve("ca.pem"));
        assertThat(c.delivery().tlsPolicy()).containsEntry("example.com", Config.TlsMode.SECURE).containsEntry(".example.org", Config.TlsMode.NONE);
        assertThat(c.delivery().authenticatesPeers()).isTrue();
        Files.writeString(dir.resolve("anchors"), ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
        Config dane = ConfigLoader.load(write("""
                [delivery]
                tls = "dane"
                dnssec_trust_anchors = "anchors"

                [tls_policy]
                "example.com" = "dane-only"
                """), false);
        assertThat(dane.delivery().tls()).isEqualTo(Config.TlsMode.DANE);
        assertThat(dane.delivery().tlsPolicy()).containsEntry("example.com", Config.TlsMode.DANE_ONLY);
        assertThat(dane.delivery().usesDane()).isTrue();
        assertThat(dane.delivery().authenticatesPeers()).as("DANE needs no CA store").isFalse();
        assertThat(dane.delivery().dnssecTrustAnchors()).isEqualTo(dir.resolve("anchors"));
        ConfigException e = errors("""
                [delivery]
                tls = "dane_only"
                dnssec_trust_anchors = "missing"

                [tls_policy]
                "example.com" = "strict"
                """);
        assertThat(e.problems()).anyMatch(p -> p.contains(":2: delivery.tls: expected \"none\", \"may\", \"encrypt\", \"verify\", \"secure\", \"dane\" or \"dane-only\", got \"dane_only\""))
                .anyMatch(p -> p.contains(":3: delivery.dnssec_trust_anchors: cannot read"))
                .anyMatch(p -> p.contains(":6: tls_policy.example.com: expected \"none\", \"may\", \"encrypt\", \"verify\", \"secure\", \"dane\" or \"dane-only\", got \"strict\""));
    }
}
