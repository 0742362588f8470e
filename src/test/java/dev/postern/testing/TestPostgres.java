package dev.postern.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A private PostgreSQL server for the tests: Debian's binaries, initdb into a temporary directory (as the
 * postgres system user when the tests run as root, since the server refuses root), a free loopback port,
 * stopped when the JVM exits. One server per test JVM; each test takes a fresh database of its own.
 */
public final class TestPostgres {
    public static final String USER = "postern";
    public static final String PASSWORD = "postern-test";
    private static TestPostgres shared;
    private static final AtomicInteger DATABASES = new AtomicInteger();

    public final Path dir;
    public final int port;
    private final Path bin;

    private TestPostgres(Path dir, int port, Path bin) {
        this.dir = dir;
        this.port = port;
        this.bin = bin;
    }

    /** The JVM's server, started on first use. */
    public static synchronized TestPostgres get() throws Exception {
        if (shared == null) {
            shared = start();
            Runtime.getRuntime().addShutdownHook(new Thread(shared::destroy));
        }
        return shared;
    }

    /** A new, empty database owned by {@link #USER}; returns its JDBC-style URL as the config takes it. */
    public String newDatabase() throws SQLException {
        String name = "t" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), "postgres", "");
             Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name + " OWNER " + USER);
        }
        return "postgresql://127.0.0.1:" + port + "/" + name;
    }

    /** A [cluster] section for a node of a fresh database (or of the given one, when database is not null). */
    public dev.postern.config.Config.Cluster cluster(String database, String node) throws SQLException {
        return new dev.postern.config.Config.Cluster(database != null ? database : newDatabase(), USER, null, node,
                java.time.Duration.ofSeconds(60), null);
    }

    public String url(String database) { return "jdbc:postgresql://127.0.0.1:" + port + "/" + database; }

    static Path binaries() {
        try (Stream<Path> s = Files.list(Path.of("/usr/lib/postgresql"))) {
            return s.map(p -> p.resolve("bin")).filter(p -> Files.isExecutable(p.resolve("initdb")))
                    .max(Comparator.comparing(p -> Integer.parseInt(p.getParent().getFileName().toString())))
                    .orElseThrow(() -> new IllegalStateException("no initdb under /usr/lib/postgresql/*/bin: run scripts/install-test-peers"));
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL is not installed (Debian package postgresql): run scripts/install-test-peers", e);
        }
    }

    private static boolean root() { return "root".equals(System.getProperty("user.name")); }

    private static TestPostgres start() throws Exception {
        Path bin = binaries();
        Path dir = Files.createTempDirectory("postern-pg");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        if (root()) run(List.of("chown", "postgres:postgres", dir.toString()));
        Path data = dir.resolve("data");
        run(asServer(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync"));
        TestPostgres pg = new TestPostgres(dir, port, bin);
        pg.startServer();
        try (Connection c = DriverManager.getConnection(pg.url("postgres"), "postgres", "");
             Statement s = c.createStatement()) {
            s.execute("CREATE USER " + USER + " PASSWORD '" + PASSWORD + "'");
        }
        return pg;
    }

    /** Starts (or restarts) the server on its port and data directory; waits until it accepts connections. */
    public void startServer() throws Exception {
        Path data = dir.resolve("data");
        run(asServer(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("server.log").toString(), "-w", "-t", "60",
                "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB",
                "start"));
    }

    /** Kills the server as a crash would (SIGKILL to the postmaster and its children). */
    public void kill() throws Exception {
        Path pidFile = dir.resolve("data/postmaster.pid");
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
        ProcessHandle.of(pid).ifPresent(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
        for (int i = 0; i < 100 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); i++) Thread.sleep(50);
        Files.deleteIfExists(pidFile);
    }

    private void destroy() {
        try {
            run(asServer(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "stop"));
        } catch (Exception ignored) {
            // already gone
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory
        }
    }

    private static List<String> asServer(String... command) {
        List<String> c = new ArrayList<>();
        if (root()) c.addAll(List.of("runuser", "-u", "postgres", "--"));
        c.addAll(List.of(command));
        return c;
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("postern-pg-cmd", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.get(0) + " did not finish: " + String.join(" ", command));
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ":\n" + Files.readString(out));
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
