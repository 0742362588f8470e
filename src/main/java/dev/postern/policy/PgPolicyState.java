package dev.postern.policy;

import dev.postern.store.Database;

import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

/**
 * The cluster's shared check state in PostgreSQL: one statement per call, atomic across nodes (upserts).
 * A failing database makes the calling check fail; the session answers with a temporary error (451).
 */
public final class PgPolicyState implements PolicyState {
    private final Database db;

    public PgPolicyState(Database db) { this.db = db; }

    private interface Sql<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T with(Sql<T> body) {
        try (Connection c = db.connection()) {
            return body.run(c);
        } catch (SQLException e) {
            throw new UncheckedIOException(new java.io.IOException("policy state database: " + Database.rootMessage(e), e));
        }
    }

    @Override public long[] greylistGet(String key) {
        return with(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT first_seen, passed_until FROM greylist WHERE key = ?")) {
                s.setString(1, key);
                try (ResultSet r = s.executeQuery()) {
                    return r.next() ? new long[] {r.getLong(1), r.getLong(2)} : null;
                }
            }
        });
    }

    @Override public void greylistPut(String key, long firstSeen, long passedUntil) {
        with(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO greylist (key, first_seen, passed_until) VALUES (?, ?, ?) "
                    + "ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen, passed_until = excluded.passed_until")) {
                s.setString(1, key);
                s.setLong(2, firstSeen);
                s.setLong(3, passedUntil);
                return s.executeUpdate();
            }
        });
    }

    @Override public void greylistRemove(String key) {
        with(c -> {
            try (PreparedStatement s = c.prepareStatement("DELETE FROM greylist WHERE key = ?")) {
                s.setString(1, key);
                return s.executeUpdate();
            }
        });
    }

    @Override public long countInWindow(String key, long minute) {
        return with(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO rate_counter (key, minute, count) VALUES (?, ?, 1) "
                    + "ON CONFLICT (key, minute) DO UPDATE SET count = rate_counter.count + 1 RETURNING count")) {
                s.setString(1, key);
                s.setLong(2, minute);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    return r.getLong(1);
                }
            }
        });
    }

    @Override public long authFailure(String address, long now, long windowMillis) {
        return with(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO auth_failure (address, count, last) VALUES (?, 1, ?) "
                    + "ON CONFLICT (address) DO UPDATE SET count = CASE WHEN excluded.last - auth_failure.last > ? THEN 1 "
                    + "ELSE auth_failure.count + 1 END, last = excluded.last RETURNING count")) {
                s.setString(1, address);
                s.setLong(2, now);
                s.setLong(3, windowMillis);
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    return r.getLong(1);
                }
            }
        });
    }

    @Override public Map<String, Long> authFailuresAtLeast(int limit, long now, long windowMillis) {
        return with(c -> {
            Map<String, Long> out = new HashMap<>();
            try (PreparedStatement s = c.prepareStatement("SELECT address, last FROM auth_failure WHERE count >= ? AND last > ?")) {
                s.setInt(1, limit);
                s.setLong(2, now - windowMillis);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) out.put(r.getString(1), r.getLong(2));
                }
            }
            return out;
        });
    }

    @Override public void dmarcRow(java.time.LocalDate day, String json) {
        with(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO dmarc_row (day, row_json) VALUES (?, ?)")) {
                s.setObject(1, day);
                s.setString(2, json);
                return s.executeUpdate();
            }
        });
    }

    @Override public java.util.List<String> dmarcRows(java.time.LocalDate day) {
        return with(c -> {
            java.util.List<String> out = new java.util.ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT row_json FROM dmarc_row WHERE day = ?")) {
                s.setObject(1, day);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) out.add(r.getString(1));
                }
            }
            return out;
        });
    }

    @Override public boolean claimDmarcDay(java.time.LocalDate day, String node) {
        return with(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO dmarc_sent (day, node, sent) VALUES (?, ?, now()) ON CONFLICT (day) DO NOTHING")) {
                s.setObject(1, day);
                s.setString(2, node);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override public void releaseDmarcDay(java.time.LocalDate day) {
        with(c -> {
            try (PreparedStatement s = c.prepareStatement("DELETE FROM dmarc_sent WHERE day = ?")) {
                s.setObject(1, day);
                return s.executeUpdate();
            }
        });
    }

    /** Drops what can no longer matter: rate windows before the last minute, greylist entries past use. */
    public void expire(long nowMillis, long greylistLifetimeMillis, long authWindowMillis) {
        with(c -> {
            try (PreparedStatement a = c.prepareStatement("DELETE FROM rate_counter WHERE minute < ?");
                 PreparedStatement b = c.prepareStatement("DELETE FROM greylist WHERE greatest(first_seen + ?, passed_until) < ?");
                 PreparedStatement d = c.prepareStatement("DELETE FROM auth_failure WHERE last < ?")) {
                a.setLong(1, nowMillis / 60_000 - 1);
                a.executeUpdate();
                b.setLong(1, greylistLifetimeMillis);
                b.setLong(2, nowMillis);
                b.executeUpdate();
                d.setLong(1, nowMillis - authWindowMillis);
                return d.executeUpdate();
            }
        });
    }
}
