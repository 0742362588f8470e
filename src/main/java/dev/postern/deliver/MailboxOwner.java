package dev.postern.deliver;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;

/**
 * The system user (and group) that owns the Maildirs: the mail store's user, so that Dovecot running as it
 * reads and moves what Postern writes. Directories get mode 0700, files 0600, as Dovecot makes them.
 */
public record MailboxOwner(String spec, UserPrincipal user, GroupPrincipal group) {

    /** "user" or "user:group"; the group defaults to the user's name. Throws when either is unknown. */
    public static MailboxOwner parse(String spec) throws IOException {
        String[] f = spec.split(":", 2);
        UserPrincipalLookupService names = FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            UserPrincipal u = names.lookupPrincipalByName(f[0]);
            GroupPrincipal g = f.length == 2 && !f[1].isEmpty() ? names.lookupPrincipalByGroupName(f[1]) : groupOrNull(names, f[0]);
            return new MailboxOwner(spec, u, g);
        } catch (UserPrincipalNotFoundException e) {
            throw new IOException("no such user or group: " + e.getName());
        }
    }

    private static GroupPrincipal groupOrNull(UserPrincipalLookupService names, String name) throws IOException {
        try {
            return names.lookupPrincipalByGroupName(name);
        } catch (UserPrincipalNotFoundException e) {
            return null;
        }
    }

    /** Gives a file or directory we just made to the owner, with the owner-only mode. */
    public void apply(Path p) throws IOException {
        PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class);
        if (v == null) return; // not a POSIX file system
        v.setOwner(user);
        if (group != null) v.setGroup(group);
        v.setPermissions(PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwx------" : "rw-------"));
    }
}
