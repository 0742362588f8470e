package dev.postern.e2e;

import dev.postern.auth.UserStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "A 250 is a promise": the server runs as its own process, many clients send concurrently, and the
 * process is killed with SIGKILL mid-stream, three times. After the last restart every message that
 * got a 250 is in the mailbox exactly once, and no message is in it twice.
 */
class CrashTest {
    @TempDir Path dir;

    static final int CLIENTS = 12;
    static final Pattern MARK = Pattern.compile("X-Test-Id: (\\S+)");

    @ParameterizedTest
    @ValueSource(strings = {"log", "files"})
    void killDashNineLosesNothingAcknowledgedAndDuplicatesNothing(String store) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "mx.example.test"
                data_dir = "data"
                domains = ["example.test"]
                [listeners.smtp]
                bind = "127.0.0.1:%d"
                kind = "smtp"
                [queue]
                store = "%s"
                [aliases]
                "team@example.test" = ["alice@example.test", "bob@example.test"]
                [auth]
                verify = false            # no DNS: tests send traffic to loopback only
                """.formatted(port, store));
        UserStore users = new UserStore(dir.resolve("data/users"));
        users.put("alice@example.test", "x");
        users.put("bob@example.test", "x");

        Set<String> acked = ConcurrentHashMap.newKeySet();
        for (int round = 0; round < 3; round++) {
            Process server = startServer(config, round);
            try {
                awaitPort(port);
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    String prefix = "r" + round + "c" + c + "m";
                    Thread t = new Thread(() -> sendUntilError(port, prefix, acked, stop));
                    t.start();
                    clients.add(t);
                }
                Thread.sleep(1200 + round * 300L);
                server.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no flushing
                assertThat(server.waitFor(10, TimeUnit.SECONDS)).isTrue();
                stop.set(true);
                for (Thread t : clients) t.join(10_000);
            } finally {
                server.destroyForcibly(); // no server outlives a failed round
            }
        }
        assertThat(acked).as("the test sent too little to mean anything").hasSizeGreaterThan(50);

        Process last = startServer(config, 3);
        try {
            awaitPort(port);
            awaitQueueEmpty(dir.resolve("data"));
            for (String mailbox : List.of("alice", "bob")) {
                Map<String, Integer> seen = countIds(dir.resolve("data/mailboxes/example.test/" + mailbox + "/Maildir"));
                assertThat(seen.values()).as("duplicates in " + mailbox).allMatch(n -> n == 1);
                assertThat(seen.keySet()).as("acknowledged but lost in " + mailbox).containsAll(acked);
            }
        } finally {
            last.destroyForcibly().waitFor();
        }
    }

    /** One connection, messages to the alias (so each lands in two mailboxes) until anything fails. */
    static void sendUntilError(int port, String prefix, Set<String> acked, AtomicBoolean stop) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            var out = s.getOutputStream();
            expect(in, "220");
            send(out, "EHLO crash.test\r\n");
            expect(in, "250 ");
            for (int n = 0; !stop.get(); n++) {
                String id = prefix + n;
                send(out, "MAIL FROM:<c@remote.test>\r\nRCPT TO:<team@example.test>\r\nDATA\r\n");
                expect(in, "250");
                expect(in, "250");
                expect(in, "354");
                send(out, "Subject: crash\r\nX-Test-Id: " + id + "\r\n\r\n" + "body line\r\n".repeat(50) + ".\r\n");
                if (expect(in, "250").startsWith("250")) acked.add(id);
            }
        } catch (IOException | RuntimeException e) {
            // the server was killed: whatever did not get its 250 is allowed to be lost
        }
    }

    static void send(java.io.OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    static String expect(java.io.BufferedReader in, String prefix) throws IOException {
        String l;
        do {
            l = in.readLine();
            if (l == null) throw new IOException("closed");
        } while (l.length() > 3 && l.charAt(3) == '-');
        if (!l.startsWith(prefix)) throw new IOException("unexpected " + l);
        return l;
    }

    Process startServer(Path config, int round) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.postern.Postern",
                "serve", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("server-" + round + ".log").toFile()).start();
    }

    static void awaitPort(int port) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("server did not start listening on " + port);
    }

    /** Asks the running server's admin endpoint until its queue is empty. */
    static void awaitQueueEmpty(Path data) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        var http = java.net.http.HttpClient.newHttpClient();
        String last = "";
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(data.resolve("admin.port")) && Files.exists(data.resolve("admin.token"))) {
                var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                                + Files.readString(data.resolve("admin.port")).strip() + "/queue"))
                        .header("Authorization", "Bearer " + Files.readString(data.resolve("admin.token")).strip()).build();
                try {
                        last = http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                        if (last.replaceAll("\\s", "").contains("\"messages\":[]")) return;
                    } catch (IOException e) {
                        // not up yet
                    }
                }
                Thread.sleep(100);
            }
            throw new AssertionError("queue did not drain: " + last);
        }

        static Map<String, Integer> countIds(Path maildir) throws IOException {
            Map<String, Integer> seen = new HashMap<>();
            for (String sub : List.of("new", "cur")) {
                Path d = maildir.resolve(sub);
                if (!Files.isDirectory(d)) continue;
                try (Stream<Path> files = Files.list(d)) {
                    for (Path f : files.toList()) {
                        Matcher m = MARK.matcher(Files.readString(f));
                        if (m.find()) seen.merge(m.group(1), 1, Integer::sum);
                    }
                }
            }
            return seen;
        }
    }
