package dev.postern.config;

import dev.postern.mail.Cidr;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The whole configuration. Built only by {@link ConfigLoader}; every field already validated. */
public record Config(String hostname, Path dataDir, Set<String> domains, List<Cidr> relayNetworks,
                     List<Listener> listeners, Tls tls, Limits limits, Map<String, List<String>> aliases,
                     Path usersFile, Path logFile) {

    public enum Kind { SMTP, SUBMISSION, SMTPS }

    public record Listener(String name, String host, int port, Kind kind) {
        public String bind() { return (host.contains(":") ? "[" + host + "]" : host) + ":" + port; }
    }

    /** PEM certificate chain and private key; null paths mean "generate a self-signed pair in data_dir". */
    public record Tls(Path cert, Path key) {
        public boolean selfSigned() { return cert == null; }
    }

    public record Limits(long maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerIp,
                         Duration commandTimeout, Duration dataTimeout) {}

    public Path queueDir() { return dataDir.resolve("queue"); }

    public Path mailboxesDir() { return dataDir.resolve("mailboxes"); }

    public boolean isLocalDomain(String domain) { return domains.contains(domain); }
}
