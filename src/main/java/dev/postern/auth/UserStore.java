package dev.postern.auth;

import com.password4j.Password;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The accounts file: one line per user, {@code address:argon2id-hash:cram-md5-secret}. Addresses are
 * stored lower-cased. Rewritten whole (temp file, fsync, rename) on every change; read at start-up.
 */
public final class UserStore {

    public record User(String address, String passwordHash, CramMd5Secret cram) {}

    private final Path file;
    private volatile Map<String, User> users;

    public UserStore(Path file) throws IOException {
        this.file = file;
        this.loadedStamp = file == null ? 0 : stamp(file);
        this.users = load(file);
    }

    public static UserStore empty() {
        try {
            return new UserStore(null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean exists(String address) { return current().containsKey(address.toLowerCase(Locale.ROOT)); }

    public User get(String address) { return current().get(address.toLowerCase(Locale.ROOT)); }

    public List<String> list() { return new ArrayList<>(current().keySet()); }

    private volatile long loadedStamp = -1;

    private Map<String, User> current() { return users; }

    /**
     * Re-reads the file if it changed, so "postern user add" works on a running server. The server calls
     * this from a background timer; lookups themselves never touch the disk (they run on the event loop).
     */
    public void refreshIfChanged() {
        if (file == null) return;
        try {
            long stamp = stamp(file);
            if (stamp != loadedStamp) {
                users = load(file);
                loadedStamp = stamp;
            }
        } catch (IOException e) {
            // keep the accounts we have; the next look may succeed
        }
    }

    private static long stamp(Path file) throws IOException {
        return Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file) : 0;
    }

    public synchronized void put(String address, String password) throws IOException {
        String key = address.toLowerCase(Locale.ROOT);
        String hash = Password.hash(password).addRandomSalt(16).withArgon2().getResult();
        Map<String, User> next = new TreeMap<>(users);
        next.put(key, new User(key, hash, CramMd5Secret.derive(password)));
        save(next);
    }

    public synchronized boolean remove(String address) throws IOException {
        Map<String, User> next = new TreeMap<>(users);
        if (next.remove(address.toLowerCase(Locale.ROOT)) == null) return false;
        save(next);
        return true;
    }

    private void save(Map<String, User> next) throws IOException {
        StringBuilder sb = new StringBuilder("# Postern accounts: address:argon2id:cram-md5-pad-states. Keep private.\n");
        for (User u : next.values()) {
            sb.append(u.address()).append(':').append(u.passwordHash()).append(':').append(u.cram().encode()).append('\n');
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        users = next;
    }

    private static Map<String, User> load(Path file) throws IOException {
        Map<String, User> map = new TreeMap<>();
        if (file == null || !Files.exists(file)) return map;
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) continue;
            // the Argon2 hash contains '$' and ',' but never ':'
            String[] f = line.split(":");
            if (f.length != 3) throw new IOException(file + ":" + lineNo + ": expected address:hash:cram-secret");
            map.put(f[0], new User(f[0], f[1], CramMd5Secret.decode(f[2])));
        }
        return map;
    }
}
