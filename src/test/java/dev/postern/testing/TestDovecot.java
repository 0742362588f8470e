package dev.postern.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private Dovecot (Debian's dovecot-core, -imapd, -lmtpd) for the tests: its own base directory with the
 * LMTP unix socket, IMAP on a free loopback port, users from a passwd-file, mail stored as the system user
 * "mail" under a Maildir root the test chooses (Postern's own mailboxes, or a store of Dovecot's own), the
 * Maildir++ quota plugin on. Started in the foreground as a child process; close() stops it.
 */
public final class TestDovecot implements AutoCloseable {
    public static final String MAIL_USER = "mail";
    public static final String PASSWORD = "secret";

    public final Path dir;
    public final Path mailRoot;
    public final int imapPort;
    private final List<String> users;
    private final String quota;
    private Process process;

    private TestDovecot(Path dir, Path mailRoot, int imapPort, List<String> users, String quota) {
        this.dir = dir;
        this.mailRoot = mailRoot;
        this.imapPort = imapPort;
        this.users = users;
        this.quota = quota;
    }

    /**
     * @param mailRoot Maildirs as ROOT/DOMAIN/USER/Maildir, Postern's layout
     * @param quota    a Dovecot quota_rule storage limit such as "1M", or null for none
     */
    public static TestDovecot start(Path dir, Path mailRoot, String quota, String... users) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        TestDovecot d = new TestDovecot(dir, mailRoot, port, List.of(users), quota);
        d.start();
        return d;
    }

    /** The LMTP socket, for a transport of lmtp:unix:PATH. */
    public Path lmtpSocket() { return dir.resolve("run/lmtp"); }

    public Path log() { return dir.resolve("dovecot.log"); }

    private void start() throws Exception {
        // login processes run as dovenull and mail processes as mail: every directory on the way must be traversable
        Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(dir.resolve("state"));
        if (!Files.exists(mailRoot)) { // a store of Dovecot's own: its mail user makes the users' directories in it
            Files.createDirectories(mailRoot);
            var names = mailRoot.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(mailRoot, names.lookupPrincipalByName(MAIL_USER));
        }
        for (Path start : List.of(dir, mailRoot)) {
            for (Path p = start; p != null && p.getNameCount() > 1; p = p.getParent()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        StringBuilder pw = new StringBuilder();
        for (String u : users) {
            String[] parts = u.split("@");
            pw.append(u).append(":{PLAIN}").append(PASSWORD).append(":8:8::").append(mailRoot.resolve(parts[1]).resolve(parts[0])).append("::\n");
        }
        Files.writeString(dir.resolve("passwd"), pw.toString());
        Files.writeString(dir.resolve("dovecot.conf"), config());
        process = new ProcessBuilder("dovecot", "-F", "-c", dir.resolve("dovecot.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("dovecot.out").toFile()).start();
        long deadline = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(lmtpSocket()) && imapAnswers()) return;
            if (!process.isAlive()) break;
            Thread.sleep(50);
        }
        throw new IOException("dovecot did not start: " + Files.readString(dir.resolve("dovecot.out"))
                + (Files.exists(log()) ? Files.readString(log()) : ""));
    }

    private boolean imapAnswers() {
        try (Socket s = new Socket("127.0.0.1", imapPort)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String config() {
        return String.join("\n",
                "base_dir = " + dir.resolve("run"),
                "state_dir = " + dir.resolve("state"),
                "log_path = " + log(),
                "protocols = imap lmtp",
                "listen = 127.0.0.1",
                "ssl = no",
                "disable_plaintext_auth = no",
                "auth_mechanisms = plain",
                "first_valid_uid = 8",
                "mail_location = maildir:" + mailRoot + "/%d/%n/Maildir",
                "default_internal_user = dovecot",
                "default_login_user = dovenull",
                "mail_plugins = " + (quota != null ? "quota" : ""),
                "passdb {", "  driver = passwd-file", "  args = scheme=PLAIN username_format=%u " + dir.resolve("passwd"), "}",
                "userdb {", "  driver = passwd-file", "  args = username_format=%u " + dir.resolve("passwd"), "}",
                "service imap-login {", "  inet_listener imap {", "    address = 127.0.0.1", "    port = " + imapPort, "  }",
                "  inet_listener imaps {", "    port = 0", "  }", "}",
                "service lmtp {", "  unix_listener lmtp {", "    mode = 0666", "  }", "}",
                "service stats {", "  unix_listener stats-reader {", "    mode = 0666", "  }",
                "  unix_listener stats-writer {", "    mode = 0666", "  }", "}",
                "protocol imap {", "  mail_plugins = $mail_plugins" + (quota != null ? " imap_quota" : ""), "}",
                "plugin {", quota != null ? "  quota = maildir:User quota\n  quota_rule = *:storage=" + quota : "", "}",
                "");
    }

    /**
     * Runs Python's imaplib (an independent IMAP client) as the user: prints every message of a folder, in
     * UID order, each as "--- UID n" followed by the message's bytes (Latin-1 mapped, so byte for byte).
     */
    public List<String> fetchAll(String user, String folder) throws Exception {
        String script = String.join("\n",
                "import imaplib, sys",
                "m = imaplib.IMAP4('127.0.0.1', " + imapPort + ")",
                "m.login(sys.argv[1], sys.argv[2])",
                "typ, _ = m.select(sys.argv[3])",
                "assert typ == 'OK', typ",
                "typ, data = m.uid('search', None, 'ALL')",
                "out = sys.stdout.buffer",
                "for uid in data[0].split():",
                "    typ, msg = m.uid('fetch', uid, '(BODY.PEEK[])')",
                "    out.write(b'--- UID ' + uid + b'\\n' + msg[0][1] + b'\\n--- END\\n')",
                "m.logout()",
                "");
        Process p = new ProcessBuilder("python3", "-c", script, user, PASSWORD, folder).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("imaplib failed: " + err);
        List<String> messages = new ArrayList<>();
        String all = new String(out, StandardCharsets.ISO_8859_1);
        for (String part : all.split("--- UID \\d+\n")) {
            if (part.isEmpty()) continue;
            messages.add(part.substring(0, part.lastIndexOf("\n--- END\n")));
        }
        return messages;
    }

    /** The user's quota as Dovecot reports it (IMAP GETQUOTAROOT INBOX, RFC 2087), e.g. "STORAGE 1 1". */
    public String quota(String user) throws Exception {
        String script = String.join("\n",
                "import imaplib, sys",
                "m = imaplib.IMAP4('127.0.0.1', " + imapPort + ")",
                "m.login(sys.argv[1], sys.argv[2])",
                "typ, data = m.getquotaroot('INBOX')",
                "assert typ == 'OK', typ",
                "print(data[1][0].decode())",
                "m.logout()",
                "");
        Process p = new ProcessBuilder("python3", "-c", script, user, PASSWORD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("imaplib failed: " + err);
        return out;
    }

    /** Stops Dovecot and waits for it to be gone (its LMTP socket then refuses connections). */
    public void stop() throws InterruptedException {
        if (process == null) return;
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        // its children (auth, lmtp, imap) follow the master; wait so the next test starts clean
        for (ProcessHandle h : children) h.destroyForcibly();
        process = null;
    }

    @Override public void close() throws InterruptedException { stop(); }
}
