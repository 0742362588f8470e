package dev.postern.queue;

import dev.postern.config.Config;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.store.Database;
import dev.postern.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The cluster queue stores each message's priority class and claims by class: reserved shares first, then in class order. */
class PgClaimByClassTest {
    private Database db;
    private PgQueueStore store;
    private Config.Cluster cluster;
    private final Instant now = Instant.now();

    @BeforeEach void open() throws Exception {
        cluster = TestPostgres.get().cluster(null, "node1");
        db = Database.open(cluster, 4);
        db.migrate();
        store = new PgQueueStore(db, Clock.systemUTC());
    }

    @AfterEach void close() { db.close(); }

    /** Queues a due message of this class, arrived secondsAgo (older messages are due first within a class). */
    private String queue(PriorityClass c, int secondsAgo) throws Exception {
        Envelope e = new Envelope(c == PriorityClass.NOTICES ? ReversePath.NULL : new ReversePath(new Address("sender", "remote.test")),
                List.of(new Recipient(new Address("rcpt", "far.test"))), "7BIT", false, null, null, "client.example", "127.0.0.1",
                c == PriorityClass.SUBMISSION ? "alice@example.test" : null, now.minusSeconds(secondsAgo), false);
        Spool.Incoming in = store.begin(e);
        in.priority(c);
        byte[] body = "Subject: x\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII);
        in.write(body, 0, body.length);
        return in.commit().id();
    }

    private Map<PriorityClass, Integer> counts(List<PgQueueStore.Claimed> got) {
        Map<PriorityClass, Integer> n = new EnumMap<>(PriorityClass.class);
        for (PgQueueStore.Claimed c : got) n.merge(c.priority(), 1, Integer::sum);
        return n;
    }

    @Test void aPersonsMailIsClaimedBeforeOlderBulkMailAndBulkKeepsItsReservedShare() throws Exception {
        for (int i = 0; i < 20; i++) queue(PriorityClass.BULK, 600 - i);   // a backlog, due long ago
        queue(PriorityClass.SUBMISSION, 5);
        queue(PriorityClass.SUBMISSION, 4);
        queue(PriorityClass.NOTICES, 3);

        Map<PriorityClass, Integer> reserved = new EnumMap<>(PriorityClass.class);
        reserved.put(PriorityClass.BULK, 1);
        List<PgQueueStore.Claimed> first = store.claim(4, reserved, now.plusSeconds(60), Duration.ofSeconds(60));
        // by arrival alone, all four would have been bulk
        assertThat(counts(first)).isEqualTo(Map.of(PriorityClass.NOTICES, 1, PriorityClass.SUBMISSION, 2, PriorityClass.BULK, 1));

        List<PgQueueStore.Claimed> rest = store.claim(50, Map.of(), now.plusSeconds(60), Duration.ofSeconds(60));
        assertThat(counts(rest)).isEqualTo(Map.of(PriorityClass.BULK, 19));
        assertThat(store.claim(50, Map.of(), now.plusSeconds(60), Duration.ofSeconds(60))).isEmpty();
    }

    @Test void theClassIsStoredWithTheMessageWhicheverWayItWasCommitted() throws Exception {
        String small = queue(PriorityClass.SUBMISSION, 1);
        // a message larger than a chunk streams into its own transaction: its row is written by the other statement
        Envelope e = new Envelope(new ReversePath(new Address("list", "lists.test")), List.of(new Recipient(new Address("rcpt", "far.test"))),
                "7BIT", false, null, null, "client.example", "127.0.0.1", null, now, false);
        Spool.Incoming in = store.begin(e);
        in.priority(PriorityClass.BULK);
        byte[] line = "x".repeat(998).concat("\r\n").getBytes(StandardCharsets.US_ASCII);
        for (int written = 0; written < 2 * PgQueueStore.CHUNK; written += line.length) in.write(line, 0, line.length);
        String large = in.commit().id();

        Map<String, String> stored = new HashMap<>();
        try (Connection c = db.connection();
             ResultSet r = c.createStatement().executeQuery("SELECT id, priority FROM queue_message")) {
            while (r.next()) stored.put(r.getString(1), r.getString(2));
        }
        assertThat(stored).isEqualTo(Map.of(small, "submission", large, "bulk"));
    }
}
