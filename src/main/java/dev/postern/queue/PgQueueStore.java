package dev.postern.queue;

import dev.postern.mail.Envelope;
import dev.postern.mail.QueueId;
import dev.postern.store.Database;

import java.io.IOException;
import java.io.InputStream;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The queue in PostgreSQL (cluster mode): a message row, a row per recipient, and the content in chunks of
 * {@value #CHUNK} octets, all written in the one transaction whose COMMIT the 250 waits for. A node claims
 * due messages with a lease ({@code FOR UPDATE SKIP LOCKED}), renews it while delivering, and records each
 * attempt's outcome without touching what an administrator may have changed meanwhile (held, or the
 * message gone). As a {@link Spool} it also serves a single owner (the contract tests).
 */
public final class PgQueueStore implements Spool {
    static final int CHUNK = 256 * 1024;
    private static final String LIVE = "('pending','deferred')";

    private final Database db;
    private final Clock clock;
    private final String node;
    /** Content of small messages this node received lately, so that their first delivery reads nothing back. */
    private final RecentContent recent = new RecentContent(64L << 20);
    private final Remover remover;
    private final IntakeCommitter intake;

    public PgQueueStore(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
        this.node = db.node();
        this.remover = new Remover();
        this.intake = new IntakeCommitter();
    }

    /** The message row, its recipients and its last chunk in one statement (a streamed message's end). */
    private static final String INSERT_ONE = "WITH m AS (INSERT INTO queue_message (id, envelope, size, arrival, "
            + "received_by, held, next_attempt, lease_owner, lease_until, prefix, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)), "
            + "r AS (INSERT INTO queue_recipient (message_id, idx, status, attempts, delay_warned) "
            + "SELECT ?, i, 'pending', 0, false FROM generate_series(0, ? - 1) AS i) "
            + "INSERT INTO queue_chunk (message_id, seq, data) VALUES (?, ?, ?)";

    /** A whole small message as the group commit takes it. */
    private record Row(String id, String envelope, long size, Timestamp arrival, boolean held, Timestamp leaseUntil,
                       byte[] prefix, PriorityClass priority, int recipients, byte[] content) {}

    /**
     * Group commit of received messages: each session's thread hands its message here and waits; one thread
     * writes whatever has gathered meanwhile in one statement, whose return is the durable commit of all of
     * them (synchronous_commit on). Under load the batches grow by themselves; alone, a message goes at once.
     */
    private final class IntakeCommitter {
        private final java.util.concurrent.LinkedBlockingQueue<Map.Entry<Row, java.util.concurrent.CompletableFuture<Void>>> queue =
                new java.util.concurrent.LinkedBlockingQueue<>();

        IntakeCommitter() {
            Thread t = new Thread(this::run, "queue-intake-commit");
            t.setDaemon(true);
            t.start();
        }

        void commit(Row row) throws SQLException {
            var f = new java.util.concurrent.CompletableFuture<Void>();
            queue.add(Map.entry(row, f));
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while committing " + row.id());
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof SQLException sql ? sql : new SQLException(e.getCause());
            }
        }

        private void run() {
            List<Map.Entry<Row, java.util.concurrent.CompletableFuture<Void>>> batch = new ArrayList<>();
            while (true) {
                try {
                    batch.add(queue.take());
                    queue.drainTo(batch, 499);
                    try {
                        write(batch.stream().map(Map.Entry::getKey).toList());
                        for (var e : batch) e.getValue().complete(null);
                    } catch (SQLException e) {
                        if (batch.size() == 1 || !"23505".equals(e.getSQLState())) throw e;
                        // a queue id taken already (another node's, same millisecond): only that message fails
                        for (var one : batch) {
                            try {
                                write(List.of(one.getKey()));
                                one.getValue().complete(null);
                            } catch (SQLException again) {
                                one.getValue().completeExceptionally(again);
                            }
                        }
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (SQLException | RuntimeException e) {
                    for (var x : batch) x.getValue().completeExceptionally(e);
                }
                batch.clear();
            }
        }

        /** One JDBC batch (pipelined, binary content) in one transaction: one round trip, one commit for all. */
        private void write(List<Row> rows) throws SQLException {
            try (Connection c = db.connection()) {
                c.setAutoCommit(false);
                try (PreparedStatement s = c.prepareStatement(INSERT_ONE)) {
                    for (Row r : rows) {
                        int i = 1;
                        s.setString(i++, r.id());
                        s.setString(i++, r.envelope());
                        s.setLong(i++, r.size());
                        s.setTimestamp(i++, r.arrival());
                        s.setString(i++, node);
                        s.setBoolean(i++, r.held());
                        s.setTimestamp(i++, r.arrival());
                        s.setString(i++, r.leaseUntil() == null ? null : node);
                        s.setTimestamp(i++, r.leaseUntil());
                        s.setBytes(i++, r.prefix());
                        s.setString(i++, r.priority().configName());
                        s.setString(i++, r.id());
                        s.setInt(i++, r.recipients());
                        s.setString(i++, r.id());
                        s.setInt(i++, 0);
                        s.setBytes(i, r.content());
                        s.addBatch();
                    }
                    s.executeBatch();
                    c.commit(); // durable here for every message of the batch (synchronous_commit on)
                } catch (SQLException e) {
                    c.rollback();
                    throw e;
                }
            }
        }
    }

    String node() { return node; }

    static IOException io(String what, SQLException e) {
        return new IOException(what + ": " + Database.rootMessage(e), e);
    }

    private static Timestamp ts(Instant i) { return i == null ? null : Timestamp.from(i); }

    private static Instant instant(Timestamp t) { return t == null ? null : t.toInstant(); }

    // ------------------------------------------------------------------ receiving

    @Override public Incoming begin(Envelope envelope) {
        return new PgIncoming(QueueId.next(clock.millis()), envelope, null);
    }

    /** As {@link #begin}, with the lease taken in the same commit: the receiving node delivers it first. */
    Incoming beginLeased(Envelope envelope, Instant leaseUntil) {
        return new PgIncoming(QueueId.next(clock.millis()), envelope, leaseUntil);
    }

    private final class PgIncoming implements Incoming {
        private final String id;
        private final Envelope envelope;
        private final Instant leaseUntil;
        private final ChunkBuffer content = new ChunkBuffer(8 * 1024, CHUNK);
        private int seq;
        private long size;
        private byte[] prefix;
        private boolean held;
        private PriorityClass priority = PriorityClass.RELAY;
        private Connection tx; // opened at the first full chunk: a large message streams into one transaction

        PgIncoming(String id, Envelope envelope, Instant leaseUntil) {
            this.id = id;
            this.envelope = envelope;
            this.leaseUntil = leaseUntil;
        }

        @Override public String id() { return id; }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            size += len;
            content.write(b, off, len, this::insertChunk);
        }

        @Override public void hold() { held = true; }

        @Override public void priority(PriorityClass c) { priority = c; }

        @Override public void prepend(byte[] fields) {
            if (prefix != null) throw new IllegalStateException("prepend called twice for " + id);
            prefix = fields.clone();
            size += prefix.length;
        }

        private Connection tx() throws SQLException {
            if (tx == null) {
                tx = db.connection();
                tx.setAutoCommit(false);
            }
            return tx;
        }

        /** A full chunk of a large message, into the message's own transaction (only the whole message commits). */
        private void insertChunk(byte[] b, int len) throws IOException {
            try (PreparedStatement s = tx().prepareStatement("INSERT INTO queue_chunk (message_id, seq, data) VALUES (?, ?, ?)")) {
                s.setString(1, id);
                s.setInt(2, seq++);
                s.setBytes(3, len == b.length ? b : Arrays.copyOf(b, len));
                s.executeUpdate();
            } catch (SQLException e) {
                abort();
                throw io("cannot store message content", e);
            }
        }

        @Override public QueuedMessage commit() throws IOException {
            QueuedMessage m = new QueuedMessage(id, envelope, envelope.recipients().stream().map(RecipientState::fresh).toList(), size, held);
            byte[] last = content.rest();
            boolean leased = leaseUntil != null && !held; // a held message waits for release, on no node
            try {
                if (tx == null) {
                    // the whole message is in hand: it joins the next group commit with other sessions' messages
                    intake.commit(new Row(id, EnvelopeCodec.encode(id, envelope), size, ts(envelope.arrival()), held,
                            leased ? ts(leaseUntil) : null, prefix, priority, envelope.recipients().size(), last));
                } else {
                    // a large message streamed into its own transaction: the rest of it, then the commit
                    try (PreparedStatement s = tx.prepareStatement(INSERT_ONE)) {
                        int i = 1;
                        s.setString(i++, id);
                        s.setString(i++, EnvelopeCodec.encode(id, envelope));
                        s.setLong(i++, size);
                        s.setTimestamp(i++, ts(envelope.arrival()));
                        s.setString(i++, node);
                        s.setBoolean(i++, held);
                        s.setTimestamp(i++, ts(envelope.arrival()));
                        s.setString(i++, leased ? node : null);
                        s.setTimestamp(i++, leased ? ts(leaseUntil) : null);
                        s.setBytes(i++, prefix);
                        s.setString(i++, priority.configName());
                        s.setString(i++, id);
                        s.setInt(i++, envelope.recipients().size());
                        s.setString(i++, id);
                        s.setInt(i++, seq);
                        s.setBytes(i, last);
                        s.executeUpdate();
                    }
                    tx.commit(); // durable here (synchronous_commit on): only now may the client hear 250
                }
            } catch (SQLException e) {
                abort();
                throw io("cannot queue message", e);
            }
            close();
            // what this node just wrote it usually delivers at once: keep small messages to skip reading them back
            if (seq == 0) recent.put(id, prefix, last);
            return m;
        }

        @Override public void abort() {
            if (tx == null) return;
            try {
                tx.rollback();
            } catch (SQLException ignored) {
                // the connection is gone; so is the transaction
            }
            close();
        }

        private void close() {
            try {
                if (tx != null) tx.close();
            } catch (SQLException ignored) {
                // returned to the pool or broken; either way not ours any more
            }
            tx = null;
        }
    }

    // ------------------------------------------------------------------ reading

    @Override public InputStream openContent(String id) throws IOException {
        InputStream cached = recent.open(id);
        if (cached != null) return cached;
        byte[] prefix;
        int chunks;
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("SELECT prefix, (SELECT count(*) FROM queue_chunk WHERE message_id = ?) FROM queue_message WHERE id = ?")) {
            s.setString(1, id);
            s.setString(2, id);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) throw new IOException("no such message in the queue: " + id);
                prefix = r.getBytes(1);
                chunks = r.getInt(2);
            }
        } catch (SQLException e) {
            throw new SpoolUnavailable("cannot read message " + id + ": " + Database.rootMessage(e), e);
        }
        return new ChunkStream(id, prefix, chunks);
    }

    /** Reads the content one chunk at a time: a large message is never whole in memory. */
    private final class ChunkStream extends InputStream {
        private final String id;
        private final int chunks;
        private byte[] current;
        private int pos;
        private int next;

        ChunkStream(String id, byte[] prefix, int chunks) {
            this.id = id;
            this.chunks = chunks;
            this.current = prefix == null ? new byte[0] : prefix;
        }

        private boolean fill() throws IOException {
            while (pos == current.length) {
                if (next == chunks) return false;
                try (Connection c = db.connection();
                     PreparedStatement s = c.prepareStatement("SELECT data FROM queue_chunk WHERE message_id = ? AND seq = ?")) {
                    s.setString(1, id);
                    s.setInt(2, next);
                    try (ResultSet r = s.executeQuery()) {
                        if (!r.next()) throw new IOException("message " + id + " lost chunk " + next);
                        current = r.getBytes(1);
                    }
                } catch (SQLException e) {
                    throw new SpoolUnavailable("cannot read message " + id + ": " + Database.rootMessage(e), e);
                }
                next++;
                pos = 0;
            }
            return true;
        }

        @Override public int read() throws IOException {
            return fill() ? current[pos++] & 0xff : -1;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            if (!fill()) return -1;
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /** Every committed message; for a single owner. */
    @Override public List<QueuedMessage> recover() throws IOException {
        return select("TRUE", null);
    }

    /** Messages matching a WHERE clause over queue_message m (one optional text parameter), oldest first. */
    List<QueuedMessage> select(String where, String parameter) throws IOException {
        try (Connection c = db.connection()) {
            return select(c, "SELECT id, envelope, size, held FROM queue_message m WHERE " + where + " ORDER BY arrival, id", parameter);
        } catch (SQLException e) {
            throw io("cannot read the queue", e);
        }
    }

    private static List<QueuedMessage> select(Connection c, String sql, String parameter) throws SQLException, IOException {
        Map<String, Object[]> rows = new LinkedHashMap<>();
        try (PreparedStatement s = c.prepareStatement(sql)) {
            if (parameter != null) s.setString(1, parameter);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) rows.put(r.getString(1), new Object[] {r.getString(2), r.getLong(3), r.getBoolean(4)});
            }
        }
        return withRecipients(c, rows);
    }

    private static List<QueuedMessage> withRecipients(Connection c, Map<String, Object[]> rows) throws SQLException, IOException {
        if (rows.isEmpty()) return List.of();
        Map<String, List<Object[]>> states = new LinkedHashMap<>();
        try (PreparedStatement s = c.prepareStatement("SELECT message_id, idx, status, attempts, next_attempt, last_reply, relay, delay_warned "
                + "FROM queue_recipient WHERE message_id = ANY (?) ORDER BY message_id, idx")) {
            Array ids = c.createArrayOf("text", rows.keySet().toArray());
            s.setArray(1, ids);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    states.computeIfAbsent(r.getString(1), k -> new ArrayList<>()).add(new Object[] {r.getInt(2), r.getString(3), r.getInt(4),
                            instant(r.getTimestamp(5)), r.getString(6), r.getString(7), r.getBoolean(8)});
                }
            }
        }
        List<QueuedMessage> out = new ArrayList<>();
        for (var e : rows.entrySet()) {
            Object[] row = e.getValue();
            Envelope env = EnvelopeCodec.decode(((String) row[0]).lines().toList());
            List<RecipientState> rs = new ArrayList<>(env.recipients().stream().map(RecipientState::fresh).toList());
            for (Object[] st : states.getOrDefault(e.getKey(), List.of())) {
                int i = (Integer) st[0];
                rs.set(i, new RecipientState(env.recipients().get(i), RecipientState.Status.valueOf(((String) st[1]).toUpperCase(Locale.ROOT)),
                        (Integer) st[2], (Instant) st[3], (String) st[4], (String) st[5], (Boolean) st[6]));
            }
            out.add(new QueuedMessage(e.getKey(), env, rs, (Long) row[1], (Boolean) row[2]));
        }
        return out;
    }

    QueuedMessage get(String id) throws IOException {
        List<QueuedMessage> l = select("id = ?", id);
        return l.isEmpty() ? null : l.get(0);
    }

    // ------------------------------------------------------------------ state

    /** Writes recipient state and the hold flag (a single owner's record of everything). */
    @Override public void saveState(QueuedMessage m) throws IOException {
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            updateRecipients(c, m, false);
            try (PreparedStatement s = c.prepareStatement("UPDATE queue_message SET held = ?, next_attempt = ? WHERE id = ?")) {
                s.setBoolean(1, m.held());
                s.setTimestamp(2, ts(nextDue(m)));
                s.setString(3, m.id());
                s.executeUpdate();
            }
            c.commit();
        } catch (SQLException e) {
            throw io("cannot record the state of " + m.id(), e);
        }
    }

    /** When the message is next due: its earliest pending recipient's time, now when one is due now, null when done. */
    private Instant nextDue(QueuedMessage m) {
        if (m.isDone()) return null;
        Instant next = m.nextAttempt();
        return next == null ? clock.instant() : next;
    }

    /** Recipient rows from m; onlyLive: leave alone any the administrator (or another node) already made final. */
    private static void updateRecipients(Connection c, QueuedMessage m, boolean onlyLive) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("UPDATE queue_recipient SET status = ?, attempts = ?, next_attempt = ?, last_reply = ?, "
                + "relay = ?, delay_warned = ? WHERE message_id = ? AND idx = ?" + (onlyLive ? " AND status IN " + LIVE : ""))) {
            for (int i = 0; i < m.recipients().size(); i++) {
                RecipientState r = m.recipients().get(i);
                s.setString(1, r.status().name().toLowerCase(Locale.ROOT));
                s.setInt(2, r.attempts());
                s.setTimestamp(3, ts(r.nextAttempt()));
                s.setString(4, r.lastReply());
                s.setString(5, r.relay());
                s.setBoolean(6, r.delayWarned());
                s.setString(7, m.id());
                s.setInt(8, i);
                s.addBatch();
            }
            s.executeBatch();
        }
    }

    @Override public void remove(String id) throws IOException { delete(id); }

    /** Deletes messages (with their recipients and chunks) by id; returns the ids that were there. */
    private static final String DELETE = "WITH m AS (DELETE FROM queue_message WHERE id = ANY (?) %s RETURNING id), "
            + "r AS (DELETE FROM queue_recipient WHERE message_id IN (SELECT id FROM m)), "
            + "c AS (DELETE FROM queue_chunk WHERE message_id IN (SELECT id FROM m)) SELECT id FROM m";

    private static java.util.Set<String> deleteAll(Connection c, List<String> ids, String condition) throws SQLException {
        java.util.Set<String> gone = new java.util.HashSet<>();
        try (PreparedStatement s = c.prepareStatement(DELETE.formatted(condition))) {
            s.setArray(1, c.createArrayOf("text", ids.toArray()));
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) gone.add(r.getString(1));
            }
        }
        return gone;
    }

    // ------------------------------------------------------------------ cluster: leases

    /** A claimed message and its delivery priority class. */
    record Claimed(QueuedMessage message, PriorityClass priority) {}

    /**
     * Claims up to n due messages for this node until leaseUntil: unheld, due, and not leased by a live node
     * (a lease that expired while its node still beats is that node's to finish: it may only be late writing).
     * Each class first gets up to reserved.get(class) of its own (its reserved delivery slots still free on this
     * node), earliest due first; what is left of n goes in class order (notices, submission, relay, bulk), so a
     * backlog of bulk mail neither delays a person's mail nor, within its share, waits behind it for ever.
     */
    List<Claimed> claim(int n, Map<PriorityClass, Integer> reserved, Instant leaseUntil, java.time.Duration deadAfter) throws IOException {
        Instant now = clock.instant();
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            Map<String, Object[]> rows = new LinkedHashMap<>();
            Map<String, PriorityClass> classes = new HashMap<>();
            java.util.Set<PriorityClass> drained = java.util.EnumSet.noneOf(PriorityClass.class);
            try (PreparedStatement s = c.prepareStatement("UPDATE queue_message SET lease_owner = ?, lease_until = ? WHERE id IN ("
                    + "SELECT id FROM queue_message m WHERE NOT held AND priority = ? AND next_attempt <= ? AND (lease_owner IS NULL OR lease_until < ? "
                    + "AND (lease_owner = ? OR NOT EXISTS (SELECT 1 FROM node WHERE name = m.lease_owner AND heartbeat > ? AND NOT stopped))) "
                    + "ORDER BY next_attempt LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING id, envelope, size, held")) {
                for (boolean shared : new boolean[] {false, true}) {
                    for (PriorityClass pc : PriorityClass.values()) {
                        int want = Math.min(n - rows.size(), shared ? Integer.MAX_VALUE : reserved.getOrDefault(pc, 0));
                        if (want <= 0 || drained.contains(pc)) continue;
                        s.setString(1, node);
                        s.setTimestamp(2, ts(leaseUntil));
                        s.setString(3, pc.configName());
                        s.setTimestamp(4, ts(now));
                        s.setTimestamp(5, ts(now));
                        s.setString(6, node);
                        s.setTimestamp(7, ts(now.minus(deadAfter)));
                        s.setInt(8, want);
                        int got = 0;
                        try (ResultSet r = s.executeQuery()) {
                            while (r.next()) {
                                rows.put(r.getString(1), new Object[] {r.getString(2), r.getLong(3), r.getBoolean(4)});
                                classes.put(r.getString(1), pc);
                                got++;
                            }
                        }
                        if (got < want) drained.add(pc); // nothing more of this class is due now
                    }
                }
            }
            List<Claimed> out = new ArrayList<>();
            for (QueuedMessage m : withRecipients(c, rows)) out.add(new Claimed(m, classes.get(m.id())));
            c.commit();
            return out;
        } catch (SQLException e) {
            throw io("cannot claim work", e);
        }
    }

    /** Extends this node's leases on the messages it is delivering; returns how many it still holds. */
    int renew(List<String> ids, Instant leaseUntil) throws IOException {
        if (ids.isEmpty()) return 0;
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("UPDATE queue_message SET lease_until = ? WHERE lease_owner = ? AND id = ANY (?)")) {
            s.setTimestamp(1, ts(leaseUntil));
            s.setString(2, node);
            s.setArray(3, c.createArrayOf("text", ids.toArray()));
            return s.executeUpdate();
        } catch (SQLException e) {
            throw io("cannot renew leases", e);
        }
    }

    /**
     * Records an attempt's outcome and gives up the lease, in one transaction. Recipients someone else made
     * final stay so; the hold flag is not touched (a hold issued meanwhile wins); a message deleted meanwhile
     * stays deleted. The message row goes once no recipient is left pending. Returns false when it was gone.
     */
    boolean recordOutcome(QueuedMessage m) throws IOException {
        if (m.isDone()) {
            // the common case, batched with other nodes' threads' removals: one statement and one commit for many
            recent.remove(m.id());
            return remover.remove(m.id());
        }
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            boolean exists;
            updateRecipients(c, m, true);
            try (PreparedStatement s = c.prepareStatement("UPDATE queue_message SET next_attempt = (SELECT min(coalesce(next_attempt, ?)) "
                    + "FROM queue_recipient WHERE message_id = ? AND status IN " + LIVE + "), "
                    + "lease_owner = CASE WHEN lease_owner = ? THEN NULL ELSE lease_owner END, "
                    + "lease_until = CASE WHEN lease_owner = ? THEN NULL ELSE lease_until END WHERE id = ?")) {
                s.setTimestamp(1, ts(clock.instant()));
                s.setString(2, m.id());
                s.setString(3, node);
                s.setString(4, node);
                s.setString(5, m.id());
                exists = s.executeUpdate() > 0;
            }
            // every recipient final now (some by others' hands): the message is finished
            if (!deleteAll(c, List.of(m.id()), "AND next_attempt IS NULL").isEmpty()) recent.remove(m.id());
            c.commit();
            return exists;
        } catch (SQLException e) {
            throw io("cannot record the outcome for " + m.id(), e);
        }
    }

    /**
     * Removes finished messages in batches: every delivery thread that finishes a message hands its id here and
     * waits; one thread deletes whatever has gathered in one statement (group commit, as the log store does).
     */
    private final class Remover {
        private final java.util.concurrent.LinkedBlockingQueue<Map.Entry<String, java.util.concurrent.CompletableFuture<Boolean>>> queue =
                new java.util.concurrent.LinkedBlockingQueue<>();

        Remover() {
            Thread t = new Thread(this::run, "queue-remover");
            t.setDaemon(true);
            t.start();
        }

        boolean remove(String id) throws IOException {
            var f = new java.util.concurrent.CompletableFuture<Boolean>();
            queue.add(Map.entry(id, f));
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted removing " + id);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
        }

        private void run() {
            List<Map.Entry<String, java.util.concurrent.CompletableFuture<Boolean>>> batch = new ArrayList<>();
            while (true) {
                try {
                    batch.add(queue.take());
                    queue.drainTo(batch, 999);
                    List<String> ids = batch.stream().map(Map.Entry::getKey).toList();
                    java.util.Set<String> gone;
                    try (Connection c = db.connection()) {
                        gone = deleteAll(c, ids, "");
                    }
                    for (var e : batch) e.getValue().complete(gone.contains(e.getKey()));
                } catch (InterruptedException e) {
                    return;
                } catch (SQLException e) {
                    IOException io = io("cannot remove finished messages", e);
                    for (var x : batch) x.getValue().completeExceptionally(io);
                } catch (RuntimeException e) {
                    for (var x : batch) x.getValue().completeExceptionally(e);
                }
                batch.clear();
            }
        }
    }

    /** At start: leases this node name held before (a previous run of it) are free again. */
    int releaseMine() throws IOException {
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("UPDATE queue_message SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?")) {
            s.setString(1, node);
            return s.executeUpdate();
        } catch (SQLException e) {
            throw io("cannot release old leases", e);
        }
    }

    /**
     * Gives back this node's leases on messages other than known (ones whose commit it thought had failed),
     * leased more than a few seconds ago (a message committed a moment ago may not be known yet).
     */
    int releaseMineExcept(java.util.Set<String> known, java.time.Duration lease) throws IOException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "UPDATE queue_message SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND NOT (id = ANY (?)) AND lease_until < ?")) {
            s.setString(1, node);
            s.setArray(2, c.createArrayOf("text", known.toArray()));
            s.setTimestamp(3, ts(clock.instant().plus(lease).minusSeconds(3)));
            return s.executeUpdate();
        } catch (SQLException e) {
            throw io("cannot release unknown leases", e);
        }
    }

    // ------------------------------------------------------------------ cluster: administration

    /** Sets or clears the hold; a release also makes every pending recipient due now. */
    boolean setHeld(String id, boolean held) throws IOException {
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            int n;
            try (PreparedStatement s = c.prepareStatement("UPDATE queue_message SET held = ?" + (held ? "" : ", next_attempt = ?") + " WHERE id = ?")) {
                s.setBoolean(1, held);
                if (held) s.setString(2, id);
                else {
                    s.setTimestamp(2, ts(clock.instant()));
                    s.setString(3, id);
                }
                n = s.executeUpdate();
            }
            if (!held) dueNow(c, id);
            c.commit();
            return n > 0;
        } catch (SQLException e) {
            throw io("cannot change the hold on " + id, e);
        }
    }

    /** Makes one message (id) or every message (null) due now. */
    boolean retry(String id) throws IOException {
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            int n;
            try (PreparedStatement s = c.prepareStatement("UPDATE queue_message SET next_attempt = ? WHERE next_attempt IS NOT NULL"
                    + (id == null ? "" : " AND id = ?"))) {
                s.setTimestamp(1, ts(clock.instant()));
                if (id != null) s.setString(2, id);
                n = s.executeUpdate();
            }
            dueNow(c, id);
            c.commit();
            return n > 0;
        } catch (SQLException e) {
            throw io("cannot retry " + (id == null ? "the queue" : id), e);
        }
    }

    private static void dueNow(Connection c, String id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("UPDATE queue_recipient SET next_attempt = NULL WHERE status IN " + LIVE
                + (id == null ? "" : " AND message_id = ?"))) {
            if (id != null) s.setString(1, id);
            s.executeUpdate();
        }
    }

    /** Deletes a message whoever is delivering it; returns false when there was none. */
    boolean delete(String id) throws IOException {
        recent.remove(id);
        try (Connection c = db.connection()) {
            return !deleteAll(c, List.of(id), "").isEmpty();
        } catch (SQLException e) {
            throw io("cannot delete " + id, e);
        }
    }

    /** Counts for cluster status and metrics: messages by state (held, active, due, deferred). */
    Map<String, Long> counts() throws IOException { return countsOf(db, clock); }

    public static Map<String, Long> countsOf(Database db, Clock clock) throws IOException {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "SELECT CASE WHEN held THEN 'held' WHEN lease_owner IS NOT NULL AND lease_until > ? THEN 'active' "
                        + "WHEN next_attempt <= ? THEN 'due' ELSE 'deferred' END AS state, count(*) FROM queue_message GROUP BY 1")) {
            Instant now = clock.instant();
            s.setTimestamp(1, ts(now));
            s.setTimestamp(2, ts(now));
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) out.put(r.getString(1), r.getLong(2));
            }
        } catch (SQLException e) {
            throw io("cannot count the queue", e);
        }
        return out;
    }
}
