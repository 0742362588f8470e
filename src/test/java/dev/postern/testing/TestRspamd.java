package dev.postern.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A private rspamd (Debian's rspamd 3.4) whose proxy worker speaks milter on a free loopback port: Debian's
 * rules and scores, no module that has not been configured (so no maps, fuzzy or update fetches leave the
 * machine), milter_headers adding X-Spamd-Result and X-Spam-Status, and every DNS question sent to the
 * test's loopback server. Started in the foreground; close() stops it.
 */
public final class TestRspamd implements AutoCloseable {
    public final int port;
    public final Path log;
    private final Process process;

    private TestRspamd(int port, Path log, Process process) {
        this.port = port;
        this.log = log;
        this.process = process;
    }

    public String milterSpec() { return "inet:127.0.0.1:" + port; }

    public static TestRspamd start(Path dir, InetSocketAddress dns) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        for (String d : new String[] {"db", "run", "local"}) Files.createDirectories(dir.resolve(d));
        Path log = dir.resolve("rspamd.log");
        Path conf = Files.writeString(dir.resolve("rspamd.conf"), """
                lua = "$RULESDIR/rspamd.lua"
                .include "$CONFDIR/metrics.conf"
                .include "$CONFDIR/actions.conf"
                .include "$CONFDIR/groups.conf"
                .include "$CONFDIR/composites.conf"
                modules { path = "${PLUGINSDIR}"; }
                options {
                  pidfile = "%1$s/run/rspamd.pid";
                  dns { nameserver = ["%2$s:%3$d"]; timeout = 1s; retransmits = 1; }
                }
                logging { type = "file"; filename = "%4$s"; level = "info"; }
                milter_headers { use = ["x-spamd-result", "x-spam-status"]; skip_local = false; skip_authenticated = false; }
                worker "rspamd_proxy" {
                  bind_socket = "127.0.0.1:%5$d";
                  milter = yes;
                  upstream "local" { default = yes; self_scan = yes; }
                  timeout = 120s;
                  count = 1;
                }
                """.formatted(dir, dns.getAddress().getHostAddress(), dns.getPort(), log, port));
        ProcessBuilder pb = new ProcessBuilder("rspamd", "-f", "-i", "-u", "root", "-g", "root", "-c", conf.toString(),
                "--var=DBDIR=" + dir.resolve("db"), "--var=RUNDIR=" + dir.resolve("run"), "--var=LOGDIR=" + dir,
                "--var=LOCAL_CONFDIR=" + dir.resolve("local")).redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile());
        Process p = pb.start();
        TestRspamd r = new TestRspamd(port, log, p);
        // loading Debian's rules and compiling the TLD list takes 10 to 20 s here
        for (int i = 0; i < 1200; i++) {
            if (!p.isAlive()) throw new IOException("rspamd exited: " + Files.readString(dir.resolve("stdout.log")));
            try (Socket s = new Socket("127.0.0.1", port)) {
                return r;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        r.close();
        throw new IOException("rspamd did not listen on " + port + " within 60 s; see " + log);
    }

    @Override public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
    }
}
