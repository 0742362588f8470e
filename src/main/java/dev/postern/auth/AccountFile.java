package dev.postern.auth;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;

/**
 * The accounts file: one line per user, {@code address:argon2id-hash:cram-md5-secret}. Rewritten whole
 * (temp file, fsync, rename) on every change. A null path is an empty, unchangeable set.
 */
final class AccountFile implements UserStore.Backing {
    private final Path file;

    AccountFile(Path file) { this.file = file; }

    @Override public long stamp() throws IOException {
        return file != null && Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file) : 0;
    }

    @Override public synchronized void put(UserStore.User u) throws IOException {
        Map<String, UserStore.User> next = load();
        next.put(u.address(), u);
        save(next);
    }

    @Override public synchronized boolean remove(String address) throws IOException {
        Map<String, UserStore.User> next = load();
        if (next.remove(address) == null) return false;
        save(next);
        return true;
    }

    private void save(Map<String, UserStore.User> next) throws IOException {
        StringBuilder sb = new StringBuilder("# Postern accounts: address:argon2id:cram-md5-pad-states. Keep private.\n");
        for (UserStore.User u : next.values()) {
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
    }

    @Override public Map<String, UserStore.User> load() throws IOException {
        Map<String, UserStore.User> map = new TreeMap<>();
        if (file == null || !Files.exists(file)) return map;
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) continue;
            // the Argon2 hash contains '$' and ',' but never ':'
            String[] f = line.split(":");
            if (f.length != 3) throw new IOException(file + ":" + lineNo + ": expected address:hash:cram-secret");
            map.put(f[0], new UserStore.User(f[0], f[1], CramMd5Secret.decode(f[2])));
        }
        return map;
    }
}
