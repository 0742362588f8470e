package dev.postern.auth;

import dev.postern.store.Database;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** Accounts in the cluster database: a change on any node moves the generation, and every node reloads. */
public final class PgAccounts implements UserStore.Backing {
    private final Database db;

    public PgAccounts(Database db) { this.db = db; }

    private static IOException io(SQLException e) { return new IOException("accounts database: " + Database.rootMessage(e), e); }

    @Override public Map<String, UserStore.User> load() throws IOException {
        Map<String, UserStore.User> out = new TreeMap<>();
        try (Connection c = db.connection();
             ResultSet r = c.createStatement().executeQuery("SELECT address, password_hash, cram FROM account")) {
            while (r.next()) out.put(r.getString(1), new UserStore.User(r.getString(1), r.getString(2), CramMd5Secret.decode(r.getString(3))));
        } catch (SQLException e) {
            throw io(e);
        }
        return out;
    }

    @Override public long stamp() throws IOException {
        try (Connection c = db.connection();
             ResultSet r = c.createStatement().executeQuery("SELECT generation FROM account_generation")) {
            r.next();
            return r.getLong(1);
        } catch (SQLException e) {
            throw io(e);
        }
    }

    @Override public void put(UserStore.User u) throws IOException {
        change("INSERT INTO account (address, password_hash, cram, updated) VALUES (?, ?, ?, ?) ON CONFLICT (address) "
                + "DO UPDATE SET password_hash = excluded.password_hash, cram = excluded.cram, updated = excluded.updated",
                u.address(), u.passwordHash(), u.cram().encode());
    }

    @Override public boolean remove(String address) throws IOException {
        return change("DELETE FROM account WHERE address = ?", address) > 0;
    }

    private int change(String sql, String... args) throws IOException {
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            int n;
            try (PreparedStatement s = c.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) s.setString(i + 1, args[i]);
                if (args.length == 3) s.setTimestamp(4, Timestamp.from(Instant.now()));
                n = s.executeUpdate();
            }
            c.createStatement().execute("UPDATE account_generation SET generation = generation + 1");
            c.commit();
            return n;
        } catch (SQLException e) {
            throw io(e);
        }
    }
}
