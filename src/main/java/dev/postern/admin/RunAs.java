package dev.postern.admin;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Optional;

/**
 * Who the server runs as, and whether its data directory suits that user. A Postern started by root writes
 * root-owned queue files and mailboxes that an unprivileged Postern (or Dovecot, which refuses uid 0) later
 * cannot use; Postfix likewise refuses to run its daemons as root and checks its queue's ownership at start.
 */
final class RunAs {
    private RunAs() {}

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name")) || uid() == 0;
    }

    /** The effective uid, from the owner of /proc/self; -1 where there is no /proc. */
    static int uid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    /**
     * A problem with the data directory's ownership or mode, said so that the administrator can fix it, or
     * empty. A directory that does not exist yet is fine (it is made, owned by us). Only the directory and its
     * direct entries are looked at: a root-started run leaves root-owned files right there (queue, users, tls).
     */
    static Optional<String> dataDirProblem(Path dataDir) throws IOException {
        if (!Files.exists(dataDir, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
        PosixFileAttributes a = posix(dataDir);
        if (a == null) return Optional.empty(); // not a POSIX file system: nothing to compare
        String me = System.getProperty("user.name");
        if (!Files.isDirectory(dataDir)) return Optional.of("data directory " + dataDir + " is not a directory");
        if (a.permissions().contains(PosixFilePermission.OTHERS_WRITE))
            return Optional.of("data directory " + dataDir + " is writable by every user (mode " + mode(a)
                    + "): anyone could plant mail in the queue; chmod o-w " + dataDir);
        if (isRoot()) return Optional.empty(); // root can use anything; running as root is decided elsewhere
        if (!a.owner().getName().equals(me))
            return Optional.of(owned(dataDir, a, me));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir)) {
            for (Path p : entries) {
                if (p.getFileName().toString().equals("mailboxes")) continue; // may be the mail store's user's
                PosixFileAttributes e = posix(p);
                if (e != null && !e.owner().getName().equals(me)) return Optional.of(owned(p, e, me));
            }
        }
        return Optional.empty();
    }

    private static String owned(Path p, PosixFileAttributes a, String me) {
        return p + " is owned by " + a.owner().getName() + ", but Postern runs as " + me
                + " (was it started as root once?); fix with: chown -R " + me + ": " + p;
    }

    private static PosixFileAttributes posix(Path p) throws IOException {
        try {
            return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    private static String mode(PosixFileAttributes a) {
        int m = 0;
        for (PosixFilePermission p : a.permissions()) m |= 1 << (8 - p.ordinal());
        return String.format("%04o", m);
    }
}
