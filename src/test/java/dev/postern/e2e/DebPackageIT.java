package dev.postern.e2e;

import dev.postern.config.ConfigLoader;
import dev.postern.testing.LogOnFailure;
import dev.postern.testing.SmtpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Debian package as an administrator meets it (runs after "package", on the built jar): scripts/build-deb
 * builds it, dpkg installs it on this machine, Postern serves a message as the user "postern" on an
 * unprivileged port, refuses root and a root-owned data directory, and purge takes the user and the data away.
 */
@ExtendWith(LogOnFailure.class)
class DebPackageIT {
    private static final Path DATA = Path.of("/var/lib/postern");
    @TempDir Path dir;
    private Process server;

    @AfterEach void purge() throws Exception {
        if (server != null) {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
            server.destroyForcibly();
        }
        run(null, "dpkg", "--purge", "postern");
    }

    @Test void installServeAsPosternAndPurge() throws Exception {
        Path jar = Path.of("target/postern.jar").toAbsolutePath();
        assertThat(jar).as("the jar built by the package phase").exists();
        Result built = run(null, "scripts/build-deb", jar.toString(), dir.toString());
        assertThat(built.code()).as(built.output()).isZero();
        Path deb = Path.of(built.output().strip().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(deb.getFileName().toString()).matches("postern_[0-9][^_]*\\+git[0-9a-f]+_all\\.deb");

        run(null, "dpkg", "--purge", "postern"); // a run that died half-way
        Result installed = run(null, "dpkg", "-i", deb.toString());
        assertThat(installed.code()).as(installed.output()).isZero();

        assertThat(run(null, "id", "-u", "postern").code()).isZero();
        PosixFileAttributes data = Files.readAttributes(DATA, PosixFileAttributes.class);
        assertThat(data.owner().getName()).isEqualTo("postern");
        assertThat(PosixFilePermissions.toString(data.permissions())).isEqualTo("rwxr-x---");
        PosixFileAttributes conf = Files.readAttributes(Path.of("/etc/postern/postern.toml"), PosixFileAttributes.class);
        assertThat(conf.group().getName()).isEqualTo("postern");
        assertThat(PosixFilePermissions.toString(conf.permissions())).isEqualTo("rw-r-----");
        assertThat(Files.readString(Path.of("/lib/systemd/system/postern.service")))
                .contains("User=postern", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes",
                        "ProtectSystem=strict", "ReadWritePaths=/var/lib/postern");
        // the shipped configuration is valid and keeps its data where the unit lets it write
        assertThat(ConfigLoader.load(Path.of("/etc/postern/postern.toml"), false).dataDir()).isEqualTo(DATA);

        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        int port = freePort();
        Path config = config("it", port);

        Result asRoot = run(null, "/usr/bin/postern", "serve", "--config", config.toString());
        assertThat(asRoot.code()).isEqualTo(2);
        assertThat(asRoot.output()).contains("refusing to run as root");

        Result add = asPostern("secret\n", "user", "add", "alice@example.test", "--password-stdin", "--config", config.toString());
        assertThat(add.code()).as(add.output()).isZero();

        Path log = dir.resolve("server.log");
        List<String> cmd = new ArrayList<>(asPosternCommand());
        cmd.addAll(List.of("/usr/bin/postern", "serve", "--config", config.toString()));
        server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        awaitListening(port, log);
        try (SmtpClient c = SmtpClient.ehlo(port)) {
            assertThat(c.sendMail("bob@example.org", "alice@example.test", "Subject: packaged\r\n\r\nhello")).startsWith("250");
        }
        Path inbox = DATA.resolve("it/mailboxes/example.test/alice/Maildir/new");
        long deadline = System.currentTimeMillis() + 30_000;
        while (count(inbox) == 0 && System.currentTimeMillis() < deadline) Thread.sleep(100);
        assertThat(count(inbox)).as("delivered; server log:\n" + Files.readString(log)).isEqualTo(1);
        try (Stream<Path> files = Files.list(inbox)) {
            Path message = files.findFirst().orElseThrow();
            assertThat(Files.getOwner(message).getName()).isEqualTo("postern");
            assertThat(Files.readString(message)).contains("hello");
        }
        assertThat(Files.getOwner(DATA.resolve("it/queue")).getName()).isEqualTo("postern");

        // a data directory left root's (a server once started as root) is named, with the fix
        Path rootOwned = Files.createDirectories(DATA.resolve("rootowned"));
        Files.createDirectories(rootOwned.resolve("queue"));
        Result refused = asPostern(null, "serve", "--config", config("rootowned", freePort()).toString());
        assertThat(refused.code()).as(refused.output()).isEqualTo(2);
        assertThat(refused.output()).contains(rootOwned + " is owned by root, but Postern runs as postern")
                .contains("chown -R postern: " + rootOwned);

        server.destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        server = null;
        Result purged = run(null, "dpkg", "--purge", "postern");
        assertThat(purged.code()).as(purged.output()).isZero();
        assertThat(run(null, "id", "-u", "postern").code()).isNotZero();
        assertThat(DATA).doesNotExist();
        assertThat(Path.of("/usr/bin/postern")).doesNotExist();
    }

    private Path config(String name, int port) throws IOException {
        Path f = dir.resolve(name + ".toml");
        Files.writeString(f, "data_dir = \"" + DATA.resolve(name) + "\"\ndomains = [\"example.test\"]\n"
                + "[listeners.smtp]\nbind = \"127.0.0.1:" + port + "\"\nkind = \"smtp\"\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        return f;
    }

    private static List<String> asPosternCommand() {
        // setpriv execs the command itself (no process in between to pass signals on)
        return List.of("setpriv", "--reuid=postern", "--regid=postern", "--init-groups", "--reset-env");
    }

    private static Result asPostern(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(asPosternCommand());
        cmd.add("/usr/bin/postern");
        cmd.addAll(List.of(args));
        return run(stdin, cmd.toArray(String[]::new));
    }

    record Result(int code, String output) {}

    private static Result run(String stdin, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void awaitListening(int port, Path log) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            assertThat(server.isAlive()).as("server exited; log:\n" + Files.readString(log)).isTrue();
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("not listening after 60 s; log:\n" + Files.readString(log));
    }

    private static long count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
