package dev.postern.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The cluster's nodes and their heartbeats. A node beats every second; one whose heartbeat is older than the
 * lease is dead to the others, who then take over its expired leases. Heartbeats come from the node's clock:
 * nodes must keep their clocks in step (NTP), well within the lease.
 */
public final class NodeRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.store");
    static final Duration BEAT = Duration.ofSeconds(1);

    private final Database db;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private final Instant started;
    private long failures;

    public NodeRegistry(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
        this.started = clock.instant();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "node-heartbeat");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Registers this node and starts beating. A name whose heartbeat is recent is either another live node
     * (refused: every node needs its own name) or this node's previous run, killed a moment ago: watch it for
     * a few beats to tell which.
     */
    public void start() throws IOException {
        Node before = self();
        if (before != null && !before.stopped() && before.heartbeat().isAfter(clock.instant().minus(BEAT.multipliedBy(3)))) {
            try {
                Thread.sleep(BEAT.multipliedBy(3).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Node after = self();
            if (after != null && after.heartbeat().isAfter(before.heartbeat())) {
                throw new IOException("another node named " + db.node() + " is alive (heartbeat " + after.heartbeat()
                        + "); each node needs its own [cluster] node_name");
            }
        }
        beat();
        timer.scheduleWithFixedDelay(this::beatQuietly, BEAT.toMillis(), BEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void beatQuietly() {
        try {
            beat();
            if (failures > 0) log.info("node {}: heartbeat reaches the database again", db.node());
            failures = 0;
        } catch (IOException e) {
            if (failures++ % 30 == 0) log.warn("node {}: heartbeat failed: {}", db.node(), e.getMessage());
        }
    }

    private Node self() throws IOException {
        return nodes().stream().filter(n -> n.name().equals(db.node())).findFirst().orElse(null);
    }

    void beat() throws IOException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "INSERT INTO node (name, started, heartbeat, stopped) VALUES (?, ?, ?, false) "
                        + "ON CONFLICT (name) DO UPDATE SET heartbeat = excluded.heartbeat, started = excluded.started, stopped = false")) {
            s.setString(1, db.node());
            s.setTimestamp(2, Timestamp.from(started));
            s.setTimestamp(3, Timestamp.from(clock.instant()));
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IOException(Database.rootMessage(e), e);
        }
    }

    /** A node as the registry knows it, with the leases it holds now. */
    public record Node(String name, Instant started, Instant heartbeat, boolean stopped, long leases) {}

    public List<Node> nodes() throws IOException {
        List<Node> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "SELECT n.name, n.started, n.heartbeat, n.stopped, (SELECT count(*) FROM queue_message m WHERE m.lease_owner = n.name AND m.lease_until > ?) "
                        + "FROM node n ORDER BY n.name")) {
            s.setTimestamp(1, Timestamp.from(clock.instant()));
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(new Node(r.getString(1), r.getTimestamp(2).toInstant(), r.getTimestamp(3).toInstant(), r.getBoolean(4), r.getLong(5)));
                }
            }
        } catch (SQLException e) {
            throw new IOException(Database.rootMessage(e), e);
        }
        return out;
    }

    /** Stops beating and says so: a clean stop, not a death. */
    @Override public void close() {
        timer.shutdownNow();
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement("UPDATE node SET stopped = true WHERE name = ?")) {
            s.setString(1, db.node());
            s.executeUpdate();
        } catch (SQLException e) {
            log.warn("node {}: cannot record the stop: {}", db.node(), Database.rootMessage(e));
        }
    }
}
