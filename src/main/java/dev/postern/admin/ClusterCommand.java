package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.queue.PgQueueStore;
import dev.postern.store.Database;
import dev.postern.store.NodeRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;

/** {@code postern cluster status}: nodes, heartbeats, leases, the queue by state, read from the database. */
@Command(name = "cluster", description = "The cluster as the database sees it: status")
final class ClusterCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "status") String action;
    @Option(names = "--config", description = "TOML configuration file", required = true) java.nio.file.Path config;

    @Override public Integer call() throws Exception {
        return Cli.withConfig(config, this::run);
    }

    private int run(Config c) throws Exception {
        if (!action.equals("status")) {
            System.err.println("postern: unknown cluster action " + action + " (status)");
            return 2;
        }
        if (!c.clustered()) {
            System.err.println("postern: " + config + " has no [cluster] section");
            return 2;
        }
        Clock clock = Clock.systemUTC();
        try (Database db = Database.open(c.cluster(), 2)) {
            db.checkSchema();
            Instant now = clock.instant();
            System.out.printf("%-20s %-8s %-26s %-26s %s%n", "node", "state", "started", "last heartbeat", "leases");
            for (NodeRegistry.Node n : new NodeRegistry(db, clock).nodes()) {
                boolean alive = !n.stopped() && n.heartbeat().isAfter(now.minus(c.cluster().lease()));
                System.out.printf("%-20s %-8s %-26s %-26s %d%n", n.name(), alive ? "up" : n.stopped() ? "stopped" : "down", n.started(),
                        n.heartbeat() + " (" + Duration.between(n.heartbeat(), now).toSeconds() + "s ago)", n.leases());
            }
            System.out.println();
            var counts = PgQueueStore.countsOf(db, clock);
            long total = counts.values().stream().mapToLong(Long::longValue).sum();
            System.out.println("queue: " + total + " message(s)" + (counts.isEmpty() ? "" : " — " + counts.toString().replaceAll("[{}]", "")));
            return 0;
        } catch (Database.SchemaMismatch e) {
            System.err.println("postern: " + e.getMessage());
            return 1;
        } catch (RuntimeException | java.io.IOException e) {
            System.err.println("postern: database " + c.cluster().database() + ": " + Database.rootMessage(e));
            return 1;
        }
    }
}
