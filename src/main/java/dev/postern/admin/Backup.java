package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.queue.Spool;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * {@code postern backup} and {@code postern restore}: one zip file with a MANIFEST naming its format
 * ("postern-backup 1"), the queue as the running store copies it at a consistent moment (queue/), the
 * accounts (users), and the rest of the data directory's state (data/: DKIM keys, greylist, verification,
 * MTA-STS and TLS-RPT state, ACME keys, the SRS secret...). Delivered mail (mailboxes/) is the mail store's
 * to back up, and runtime files (admin.token, admin.port, tmp/) are left out.
 */
final class Backup {
    static final String FORMAT = "postern-backup 1";
    private static final Set<String> LEFT_OUT = Set.of("queue", "tmp", "mailboxes", "admin.token", "admin.port");

    private Backup() {}

    /** Writes the backup of a running server to file (through file.tmp, renamed when complete). */
    static long create(Config config, Spool spool, Path file) throws IOException {
        Path work = Files.createTempDirectory(Files.createDirectories(config.dataDir().resolve("tmp")), "backup-");
        long t0 = System.nanoTime();
        try {
            spool.snapshot(work.resolve("queue"));
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(tmp))) {
                put(zip, "MANIFEST", (FORMAT + "\ncreated " + Instant.now() + "\nby " + Cli.Version.describe() + "\nstore "
                        + config.queue().store().name().toLowerCase() + "\n").getBytes(StandardCharsets.UTF_8));
                addTree(zip, work.resolve("queue"), "queue/");
                if (Files.exists(config.usersFile())) addFile(zip, config.usersFile(), "users");
                try (var s = Files.list(config.dataDir())) {
                    for (Path p : s.sorted().toList()) {
                        String name = p.getFileName().toString();
                        if (LEFT_OUT.contains(name) || name.endsWith(".tmp") || p.equals(config.usersFile())) continue;
                        if (Files.isDirectory(p)) addTree(zip, p, "data/" + name + "/");
                        else addFile(zip, p, "data/" + name);
                    }
                }
            }
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return (System.nanoTime() - t0) / 1_000_000;
        } finally {
            try (var s = Files.walk(work)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Unpacks a backup into the configured data directory, which must be empty or absent. */
    static int restore(Config config, Path file) throws IOException {
        Path data = config.dataDir();
        if (Files.isDirectory(data)) {
            try (var s = Files.list(data)) {
                if (s.findAny().isPresent()) throw new IOException(data + " is not empty: restore only into an empty data directory");
            }
        }
        Files.createDirectories(data);
        int files = 0;
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            ZipEntry first = zip.getNextEntry();
            if (first == null || !first.getName().equals("MANIFEST")) throw new IOException(file + " is not a Postern backup (no MANIFEST first)");
            String manifest = new String(zip.readAllBytes(), StandardCharsets.UTF_8);
            String format = manifest.lines().findFirst().orElse("");
            if (!format.equals(FORMAT)) {
                throw new IOException(file + " is \"" + format + "\", written by a newer Postern (this one reads " + FORMAT + "): restore it with that release");
            }
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (e.isDirectory()) continue;
                Path target = target(config, e.getName());
                Files.createDirectories(target.getParent());
                try (OutputStream out = Files.newOutputStream(target, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                    zip.transferTo(out);
                }
                if (e.getName().endsWith(".key") || e.getName().endsWith("secret") || e.getName().equals("users")) {
                    Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                }
                files++;
            }
        }
        return files;
    }

    /** Where an entry goes; names that would leave the data directory are refused. */
    private static Path target(Config config, String name) throws IOException {
        Path base;
        String rest;
        if (name.equals("users")) return config.usersFile();
        if (name.startsWith("queue/")) {
            base = config.queueDir();
            rest = name.substring(6);
        } else if (name.startsWith("data/")) {
            base = config.dataDir();
            rest = name.substring(5);
        } else {
            throw new IOException("unknown entry " + name + " in the backup: written by a newer Postern?");
        }
        Path t = base.resolve(rest).normalize();
        if (!t.startsWith(base)) throw new IOException("entry " + name + " leaves the data directory");
        return t;
    }

    private static void addTree(ZipOutputStream zip, Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) return;
        List<Path> files;
        try (var s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path p : files) {
            if (p.getFileName().toString().endsWith(".tmp")) continue;
            try {
                addFile(zip, p, prefix + dir.relativize(p).toString().replace('\\', '/'));
            } catch (java.nio.file.NoSuchFileException gone) {
                // replaced or removed meanwhile: state files are replaced whole, so the next copy has it
            }
        }
    }

    private static void addFile(ZipOutputStream zip, Path p, String name) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            zip.putNextEntry(new ZipEntry(name));
            in.transferTo(zip);
            zip.closeEntry();
        }
    }

    private static void put(ZipOutputStream zip, String name, byte[] content) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(content);
        zip.closeEntry();
    }
}
