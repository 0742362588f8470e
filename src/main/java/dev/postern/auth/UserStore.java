package dev.postern.auth;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The accounts, held in memory so that lookups (on the event loop) never wait; kept in the accounts file
 * ({@link AccountFile}, one node) or in the cluster database ({@link PgAccounts}, every node). Addresses are
 * stored lower-cased. A running server re-reads them when they change, within a second.
 */
public final class UserStore {

    public record User(String address, String passwordHash, CramMd5Secret cram) {}

    /** Where accounts are kept. */
    public interface Backing {
        Map<String, User> load() throws IOException;

        /** Changes whenever an account changes; cheap to read. */
        long stamp() throws IOException;

        void put(User u) throws IOException;

        boolean remove(String address) throws IOException;
    }

    private final Backing backing;
    private volatile Map<String, User> users;
    private volatile long loadedStamp;

    public UserStore(Path file) throws IOException {
        this(new AccountFile(file));
    }

    public UserStore(Backing backing) throws IOException {
        this.backing = backing;
        this.loadedStamp = backing.stamp();
        this.users = backing.load();
    }

    public static UserStore empty() {
        try {
            return new UserStore((Path) null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean exists(String address) { return users.containsKey(address.toLowerCase(Locale.ROOT)); }

    public User get(String address) { return users.get(address.toLowerCase(Locale.ROOT)); }

    public List<String> list() { return new ArrayList<>(users.keySet()); }

    /**
     * Re-reads the accounts if they changed, so "postern user add" works on a running server. The server
     * calls this from a background timer; lookups themselves never touch the disk or the database.
     */
    public void refreshIfChanged() {
        try {
            long stamp = backing.stamp();
            if (stamp != loadedStamp) {
                users = backing.load();
                loadedStamp = stamp;
            }
        } catch (IOException e) {
            // keep the accounts we have; the next look may succeed
        }
    }

    public synchronized void put(String address, String password) throws IOException {
        String key = address.toLowerCase(Locale.ROOT);
        String hash = PasswordHash.hash(password);
        backing.put(new User(key, hash, CramMd5Secret.derive(password)));
        reload();
    }

    public synchronized boolean remove(String address) throws IOException {
        boolean removed = backing.remove(address.toLowerCase(Locale.ROOT));
        reload();
        return removed;
    }

    /** Re-reads the accounts now ("postern user add" tells the running server, which calls this). */
    public void reload() throws IOException {
        loadedStamp = backing.stamp();
        users = new TreeMap<>(backing.load());
    }
}
