package dev.postern.admin;

import dev.postern.config.Config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a configuration reload ("postern reload", SIGHUP, POST /reload) changes. The parts that shape new
 * sessions and new delivery attempts are applied in place — listeners (added, removed, rebound), limits,
 * domains, aliases, relay networks and domains, recipient delimiters, policy, the TLS certificates (read
 * again every time: a renewed certificate under the same name is taken too),
 * [transport] and the relayhost, queue retry times and priority classes — while established sessions finish
 * with the configuration they started with and queued mail stays where it is. The parts that own files,
 * threads or connections (the data directory, the queue store, the database, the admin endpoint, milters,
 * authentication, the rest of delivery) are reported as needing a restart and keep their running values.
 */
final class Reload {
    private Reload() {}

    /** refused: the new file has errors (problems), nothing changed; otherwise what changed, what waits for a restart. */
    record Result(boolean refused, List<String> problems, List<String> applied, List<String> needRestart) {
        static Result refused(List<String> problems) { return new Result(true, problems, List.of(), List.of()); }
    }

    private record Part(String key, Function<Config, Object> value) {}

    /** Applied in place. */
    private static final List<Part> LIVE = List.of(
            new Part("domains", Config::domains),
            new Part("relay_networks", Config::relayNetworks),
            new Part("listeners", Config::listeners),
            new Part("limits", Config::limits),
            new Part("aliases", Config::aliases),
            new Part("transport", Config::transports),
            new Part("delivery.relayhost", c -> Objects.toString(c.delivery().relayhost())),
            new Part("queue (retry times, classes)", c -> List.of(c.queue().minBackoff(), c.queue().maxBackoff(), c.queue().maxLifetime(),
                    c.queue().delayWarning(), c.queue().classes())),
            new Part("policy", c -> List.of(c.policy().phases(), c.policy().warnOnly(), c.policy().dnsblZones(), c.policy().dnsblThreshold(),
                    c.policy().clientAccess(), c.policy().connectionsPerMinute(), c.policy().recipientsPerMinute(), c.policy().senderDbl(),
                    c.policy().accessFiles(), c.policy().messagesPerMinute(), Objects.toString(c.policy().greetPause()))),
            new Part("relay_domains, relay_recipients, recipient_delimiter", c -> List.of(c.recipients().relayDomains(),
                    Objects.toString(c.recipients().relayRecipients()), c.recipients().delimiters())));

    /** Kept until a restart. */
    private static final List<Part> RESTART = List.of(
            new Part("hostname", Config::hostname),
            new Part("data_dir", Config::dataDir),
            new Part("users_file", Config::usersFile),
            new Part("log_file", c -> Objects.toString(c.logFile())),
            new Part("queue.store", c -> c.queue().store()),
            new Part("admin", Config::admin),
            new Part("auth", Config::auth),
            new Part("cluster", c -> Objects.toString(c.cluster())),
            new Part("milter", c -> Objects.toString(c.milter())),
            new Part("srs", c -> Objects.toString(c.srs())),
            new Part("plugins", c -> Objects.toString(c.plugins())),
            new Part("alerts", Config::alerts),
            new Part("tls (mta_sts, acme)", c -> List.of(Objects.toString(c.tls().servePolicy()), Objects.toString(c.tls().acme()))),
            new Part("delivery (but relayhost)", c -> Objects.toString(c.delivery().withRelayhost(null))),
            new Part("policy (greylisting, AUTH failure limits)", c -> List.of(c.policy().greylistDelay(), c.policy().greylistRetryWindow(),
                    c.policy().greylistWhitelist(), c.policy().authFailureLimit(), c.policy().authFailureWindow())),
            new Part("recipient_verification, maildir", c -> List.of(c.recipients().verifyPositive(), c.recipients().verifyNegative(),
                    c.recipients().probeTimeout(), c.recipients().probeConcurrency(), c.recipients().subaddressFolders(),
                    c.recipients().overQuota(), Objects.toString(c.recipients().mailboxOwner()))));

    static List<String> applied(Config before, Config after) { return differing(LIVE, before, after); }

    static List<String> needRestart(Config before, Config after) { return differing(RESTART, before, after); }

    private static List<String> differing(List<Part> parts, Config before, Config after) {
        List<String> out = new ArrayList<>();
        for (Part p : parts) if (!Objects.equals(p.value().apply(before), p.value().apply(after))) out.add(p.key());
        return out;
    }
}
