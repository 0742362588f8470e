package dev.postern.cluster;

import dev.postern.admin.Cli;
import dev.postern.auth.PgAccounts;
import dev.postern.auth.UserStore;
import dev.postern.store.Database;
import dev.postern.testing.MailLoad;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three Postern processes on 127.0.0.2, .3 and .4 sharing one PostgreSQL database and one mailbox root,
 * under concurrent load on all three; one of them is killed with SIGKILL mid-load. Every message that got a
 * 250 from any node is delivered exactly once, and the dead node's work is taken over within its lease.
 */
public class ClusterTest {
    static final int CLIENTS_PER_NODE = 4;
    static final int LEASE_SECONDS = 5;

    @TempDir Path dir;
    TestPostgres pg;
    String database;
    int port;
    final Map<Integer, Process> nodes = new HashMap<>();
    ScriptedPeer peer;
    final java.util.concurrent.CountDownLatch firstRcpt = new java.util.concurrent.CountDownLatch(1);

    @BeforeEach void setUp() throws Exception {
        // the next hop for remote.test: its first RCPT hangs, so the node trying it is caught mid-attempt
        peer = new ScriptedPeer("127.0.0.5");
        AtomicBoolean first = new AtomicBoolean(true);
        peer.rcptReply = rcpt -> {
            if (first.getAndSet(false)) {
                firstRcpt.countDown();
                try {
                    Thread.sleep(30_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return "250 2.1.5 ok";
        };
        pg = TestPostgres.get();
        database = pg.newDatabase();
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        for (int i = 1; i <= 3; i++) writeConfig(i);
    }

    @AfterEach void stopNodes() throws IOException {
        nodes.values().forEach(Process::destroyForcibly);
        peer.close();
    }

    String host(int node) { return "127.0.0." + (node + 1); }

    Path config(int node) { return dir.resolve("node" + node + ".toml"); }

    void writeConfig(int node) throws IOException {
        Files.writeString(config(node), """
                hostname = "mx.example.test"          # one MTA: the same name on every node
                data_dir = "node%d"
                domains = ["example.test"]
                relay_networks = ["127.0.0.1/32"]
                [listeners.smtp]
                bind = "%s:%d"
                kind = "smtp"
                [aliases]
                "team@example.test" = ["alice@example.test", "bob@example.test"]
                [transport]
                "remote.test" = "smtp:[127.0.0.5]:%d"
                [auth]
                verify = false
                [cluster]
                database = "%s"
                user = "%s"
                node_name = "node%d"
                lease = "%ds"
                mailbox_root = "mail"
                """.formatted(node, host(node), port, peer.port(), database, TestPostgres.USER, node, LEASE_SECONDS));
    }

    public record Run(int code, String out, String err) {}

    public static Run cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Run(Cli.run(args), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    Process start(int node) throws IOException {
        Process p = dev.postern.testing.TestJvm.server(config(node), "-Xmx256m")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + node + ".log").toFile())).start();
        nodes.put(node, p);
        return p;
    }

    void awaitPort(int node) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket(host(node), port)) {
                return;
            } catch (IOException e) {
                assertThat(nodes.get(node).isAlive()).as("node " + node + " exited: " + log(node)).isTrue();
                Thread.sleep(50);
            }
        }
        throw new AssertionError("node " + node + " did not listen: " + log(node));
    }

    String log(int node) {
        try {
            return Files.readString(dir.resolve("node" + node + ".log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    long queued() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:" + database, TestPostgres.USER, "");
             ResultSet r = c.createStatement().executeQuery("SELECT count(*) FROM queue_message")) {
            r.next();
            return r.getLong(1);
        }
    }

    @Test void threeNodesDeliverEveryAcknowledgedMessageOnceAndTakeOverADeadNodesWork() throws Exception {
        Run migrate = cli("db", "migrate", "--config", config(1).toString());
        assertThat(migrate.code()).as(migrate.err()).isZero();
        assertThat(migrate.out()).contains("schema migrated to version");
        for (String user : List.of("alice@example.test", "bob@example.test")) {
            // accounts live in the database: added once, through any node's configuration
            try (Database db = Database.open(pg.cluster(database, "setup"), 2)) {
                new UserStore(new PgAccounts(db)).put(user, "x");
            }
        }
        for (int i = 1; i <= 3; i++) start(i);
        for (int i = 1; i <= 3; i++) awaitPort(i);

        Set<String> acked = ConcurrentHashMap.newKeySet();
        Map<String, String> ended = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int node = 1; node <= 3; node++) {
            for (int c = 0; c < CLIENTS_PER_NODE; c++) {
                String h = host(node), prefix = "n" + node + "c" + c + "m";
                Thread t = new Thread(() -> ended.put(prefix, MailLoad.sendUntilError(h, port, "team@example.test", prefix, acked, stop)));
                t.start();
                clients.add(t);
            }
        }
        Thread.sleep(1500);
        // node 2 takes a message for remote.test and is caught in its attempt, lease held
        String caught;
        try (SmtpClient c = SmtpClient.ehlo(host(2), port)) {
            String r = c.sendMail("c@remote.test", "friend@remote.test", "Subject: caught\r\nX-Test-Id: caught\r\n\r\nhi");
            caught = r.substring(r.lastIndexOf(' ') + 1);
        }
        assertThat(firstRcpt.await(10, TimeUnit.SECONDS)).as("node 2 is trying the message").isTrue();
        nodes.get(2).destroyForcibly(); // SIGKILL: its leases stay in the database, its heartbeat stops
        assertThat(nodes.get(2).waitFor(10, TimeUnit.SECONDS)).isTrue();
        long killedAt = System.currentTimeMillis();
        Thread.sleep(1000);
        stop.set(true);
        for (Thread t : clients) t.join(15_000);
        assertThat(acked).as("the test sent too little to mean anything").hasSizeGreaterThan(100);
        assertThat(acked).as(() -> "every node took mail; clients ended: " + ended + "\nnode 1 log (end):\n" + tail(log(1)) + "\nnode 3 log (end):\n" + tail(log(3)))
                .anyMatch(i -> i.startsWith("n1")).anyMatch(i -> i.startsWith("n2"))
                .anyMatch(i -> i.startsWith("n3"));

        long deadline = killedAt + (LEASE_SECONDS + 20) * 1000L;
        while (queued() > 0 && System.currentTimeMillis() < deadline) Thread.sleep(100);
        assertThat(queued()).as("queue drained by nodes 1 and 3 within the lease plus a few seconds").isZero();
        assertThat(peer.received).as("the message node 2 died delivering went out from another node")
                .anyMatch(m -> m.text().contains("X-Test-Id: caught"));
        assertThat(log(1) + log(3)).contains(caught + ": to=<friend@remote.test>").contains("status=sent");
        // one message, two nodes: each line names its node
        assertThat(log(2)).containsPattern("node=node2 smtpd: " + caught + ": from=<c@remote.test>");
        assertThat(log(1) + log(3)).containsPattern("node=node[13] queue: " + caught + ": to=<friend@remote.test>");

        for (String mailbox : List.of("alice", "bob")) {
            Map<String, Integer> seen = MailLoad.countIds(dir.resolve("mail/example.test/" + mailbox + "/Maildir"));
            assertThat(seen.entrySet()).as("duplicates in " + mailbox).allMatch(e -> e.getValue() == 1);
            assertThat(seen.keySet()).as("acknowledged but lost in " + mailbox).containsAll(acked);
        }
        Run status = cli("cluster", "status", "--config", config(1).toString());
        assertThat(status.code()).as(status.err()).isZero();
        assertThat(status.out()).containsPattern("node1\\s+up").containsPattern("node2\\s+down").containsPattern("node3\\s+up")
                .contains("queue: 0 message(s)");
    }
}
