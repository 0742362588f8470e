package dev.postern.e2e;

import dev.postern.auth.UserStore;
import dev.postern.testing.MailLoad;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "A 250 is a promise": the server runs as its own process, many clients send concurrently, and the
 * process is killed with SIGKILL mid-stream, three times. After the last restart every message that
 * got a 250 is in the mailbox exactly once, and no message is in it twice. Each kill lands in the middle
 * of a Maildir batch (files written in tmp/, not yet renamed into new/, seen just before it), while
 * deliveries are being published in batches of several files (checked from /metrics), and, for the log
 * store, while its queue log is written over a segment prepared ahead (a file of zeros).
 */
class CrashTest {
    @TempDir Path dir;

    static final int CLIENTS = 12;

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
        List<Double> batchedFiles = new ArrayList<>();
        List<Integer> unpublishedAtKill = new ArrayList<>();
        Set<String> orphans = new java.util.HashSet<>();
        List<Boolean> killedInPreparedSegment = new ArrayList<>();
        if (store.equals("log")) {
            // as a busy earlier run leaves it: the next segment prepared, which this start writes over
            Path prepared = Files.createDirectories(dir.resolve("data/queue/log")).resolve("next-segment.zero");
            try (var ch = java.nio.channels.FileChannel.open(prepared, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                for (long at = 0; at < 64L << 20; ) at += ch.write(java.nio.ByteBuffer.allocate(1 << 20), at);
            }
        }
        for (int round = 0; round < 3; round++) {
            Process server = startServer(config, round);
            try {
                awaitPort(port);
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    String prefix = "r" + round + "c" + c + "m";
                    Thread t = new Thread(() -> MailLoad.sendUntilError("127.0.0.1", port, "team@example.test", prefix, acked, stop));
                    t.start();
                    clients.add(t);
                }
                Thread.sleep(1200 + round * 300L);
                batchedFiles.add(maildirFilesPerBatch(dir.resolve("data")));
                // the kill lands in the middle of a Maildir batch: files written in tmp/, not yet renamed into new/
                unpublishedAtKill.add(awaitUnpublished(dir.resolve("data/mailboxes/example.test"), orphans));
                server.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no flushing
                assertThat(server.waitFor(10, TimeUnit.SECONDS)).isTrue();
                orphans.addAll(tmpFiles(dir.resolve("data/mailboxes/example.test"))); // redelivery reuses their names
                if (store.equals("log")) killedInPreparedSegment.add(writingPreparedSegment(dir.resolve("data/queue/log")));
                stop.set(true);
                for (Thread t : clients) t.join(10_000);
            } finally {
                server.destroyForcibly(); // no server outlives a failed round
            }
        }
        assertThat(acked).as("the test sent too little to mean anything").hasSizeGreaterThan(50);
        // the kills landed while Maildir deliveries were being published in batches of several files
        assertThat(batchedFiles).as("Maildir files per publishing batch, each round").anyMatch(r -> r > 1.0);
        assertThat(unpublishedAtKill).as("files in the Maildirs' tmp/ seen just before each kill").anyMatch(n -> n >= 2);
        // the queue log was being written over the zeros of a segment prepared ahead when it was killed
        if (store.equals("log")) assertThat(killedInPreparedSegment).as("killed while writing a prepared segment, each round").contains(true);

        Process last = startServer(config, 3);
        try {
            awaitPort(port);
            awaitQueueEmpty(dir.resolve("data"));
            for (String mailbox : List.of("alice", "bob")) {
                Map<String, Integer> seen = MailLoad.countIds(dir.resolve("data/mailboxes/example.test/" + mailbox + "/Maildir"));
                assertThat(seen.values()).as("duplicates in " + mailbox).allMatch(n -> n == 1);
                assertThat(seen.keySet()).as("acknowledged but lost in " + mailbox).containsAll(acked);
            }
        } finally {
            last.destroyForcibly().waitFor();
        }
    }

    /** Whether the newest queue log segment is a file prepared ahead: its full 64 MiB from the start. */
    static boolean writingPreparedSegment(Path log) throws IOException {
        try (var s = Files.list(log)) {
            Path newest = s.filter(p -> p.getFileName().toString().endsWith(".log")).max(Comparator.naturalOrder()).orElseThrow();
            return Files.size(newest) == 64L << 20;
        }
    }

    Process startServer(Path config, int round) throws IOException {
        return dev.postern.testing.TestJvm.server(config)
                .redirectErrorStream(true).redirectOutput(dir.resolve("server-" + round + ".log").toFile()).start();
    }

    /**
     * Waits (up to 5 s) until the mailboxes' tmp/ directories hold files of a batch in progress (written,
     * not yet published; earlier kills' orphans not counted) and returns how many; the caller kills at once.
     */
    static int awaitUnpublished(Path domain, Set<String> orphans) {
        int best = 0;
        for (long deadline = System.currentTimeMillis() + 5_000; System.currentTimeMillis() < deadline; ) {
            List<String> files = tmpFiles(domain);
            files.removeAll(orphans);
            best = Math.max(best, files.size());
            if (files.size() >= 2) return files.size();
        }
        return best;
    }

    static List<String> tmpFiles(Path domain) {
        List<String> files = new ArrayList<>();
        for (String mailbox : List.of("alice", "bob")) {
            String[] names = domain.resolve(mailbox + "/Maildir/tmp").toFile().list();
            if (names != null) for (String n : names) files.add(mailbox + "/" + n);
        }
        return files;
    }

    /** From the running server's /metrics: Maildir files published per batch so far (0 when none yet). */
    static double maildirFilesPerBatch(Path data) throws Exception {
        String m = null;
        // the SMTP port opens before the admin endpoint, and admin.port may still name the killed server's port
        for (long deadline = System.currentTimeMillis() + 15_000; m == null; ) {
            try {
                String port = Files.readString(data.resolve("admin.port")).strip();
                m = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + port + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            } catch (java.io.IOException e) {
                if (System.currentTimeMillis() > deadline) throw e;
                Thread.sleep(100);
            }
        }
        double files = metric(m, "postern_maildir_files_total"), batches = metric(m, "postern_maildir_batches_total");
        return batches == 0 ? 0 : files / batches;
    }

    static double metric(String text, String name) {
        java.util.regex.Matcher mt = java.util.regex.Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(text);
        return mt.find() ? Double.parseDouble(mt.group(1)) : 0;
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
}
