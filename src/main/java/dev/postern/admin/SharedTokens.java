package dev.postern.admin;

import dev.postern.store.Database;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Set;

/**
 * A cluster's admin tokens: every node registers its own (as a SHA-256 digest; the token itself stays in the
 * node's data_dir), and every node's admin endpoint accepts any of them, so one token drives the whole
 * cluster's API. Digests are cached; an unknown token refreshes the cache at most every two seconds.
 */
final class SharedTokens {
    private final Database db;
    private volatile Set<String> known = Set.of();
    private volatile long refreshed;

    SharedTokens(Database db) { this.db = db; }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    void register(String node, String token) throws IOException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement("INSERT INTO admin_token (node, token_sha256, created) "
                + "VALUES (?, ?, ?) ON CONFLICT (node) DO UPDATE SET token_sha256 = excluded.token_sha256, created = excluded.created")) {
            s.setString(1, node);
            s.setString(2, sha256(token));
            s.setTimestamp(3, Timestamp.from(Instant.now()));
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IOException("cannot register the admin token: " + Database.rootMessage(e), e);
        }
    }

    boolean accepts(String token) {
        String digest = sha256(token);
        if (known.contains(digest)) return true;
        long now = System.currentTimeMillis();
        if (now - refreshed < 2000) return false;
        refreshed = now;
        try (Connection c = db.connection(); ResultSet r = c.createStatement().executeQuery("SELECT token_sha256 FROM admin_token")) {
            java.util.HashSet<String> all = new java.util.HashSet<>();
            while (r.next()) all.add(r.getString(1));
            known = Set.copyOf(all);
        } catch (SQLException e) {
            return false;
        }
        return known.contains(digest);
    }
}
