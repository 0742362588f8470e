package dev.postern.cluster;

import dev.postern.store.Database;
import dev.postern.testing.MailLoad;
import dev.postern.testing.TestPostgres;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PostgreSQL killed (SIGKILL) and restarted under load: while it is down, new messages get 451 4.3.0 (never
 * a 250 that was not committed); afterwards every acknowledged message is delivered exactly once.
 */
class ClusterOutageTest {
    static final int CLIENTS = 6;

    @Test void databaseKilledMidLoadGives451sAndLosesOrRepeatsNothingAcknowledged() throws Exception {
        TestPostgres pg = TestPostgres.get();
        String database = pg.newDatabase();
        try (Database db = Database.open(pg.cluster(database, "migrate"), 2)) {
            db.migrate();
        }
        TestServer node = TestServer.builder().cluster(pg.cluster(database, "node1"))
                .alias("team@example.test", "alice@example.test", "bob@example.test").start();
        try {
            Set<String> acked = ConcurrentHashMap.newKeySet();
            AtomicInteger tempfails = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                String prefix = "c" + c + "m";
                Thread t = new Thread(() -> sendUntilStopped(node.smtp(), prefix, acked, tempfails, stop));
                t.start();
                clients.add(t);
            }
            Thread.sleep(1500);
            int before = acked.size();
            pg.kill();
            Thread.sleep(7000); // longer than the pool's 5 s connection timeout: commits fail, not just wait
            int during = acked.size();
            pg.startServer();
            // PostgreSQL's crash recovery after SIGKILL took over 2.5 s on a loaded CI machine: wait for it, bounded
            long resumeBy = System.currentTimeMillis() + 30_000;
            while (acked.size() <= during && System.currentTimeMillis() < resumeBy) Thread.sleep(100);
            Thread.sleep(1000); // and a little load after it
            stop.set(true);
            for (Thread t : clients) t.join(30_000);

            assertThat(before).as("acknowledged before the outage").isGreaterThan(20);
            assertThat(tempfails.get()).as("451s while the database was down").isPositive();
            assertThat(acked.size()).as("acceptance resumed after the database returned").isGreaterThan(during);

            long deadline = System.currentTimeMillis() + 60_000;
            while (!node.server.queue().list().isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(200);
            assertThat(node.server.queue().list()).as("queue drained after the outage").isEmpty();
            for (String mailbox : List.of("alice", "bob")) {
                Map<String, Integer> seen = MailLoad.countIds(node.maildir(mailbox + "@example.test"));
                assertThat(seen.entrySet()).as("duplicates in " + mailbox).allMatch(e -> e.getValue() == 1);
                assertThat(seen.keySet()).as("acknowledged but lost in " + mailbox).containsAll(acked);
            }
        } finally {
            node.close();
        }
    }

    /** Sends to the alias until told to stop; a 451 is counted and the next message tried; a lost connection reopened. */
    static void sendUntilStopped(int port, String prefix, Set<String> acked, AtomicInteger tempfails, AtomicBoolean stop) {
        int n = 0;
        while (!stop.get()) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(20_000);
                var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                OutputStream out = s.getOutputStream();
                MailLoad.expect(in, "220");
                MailLoad.send(out, "EHLO outage.test\r\n");
                MailLoad.expect(in, "250 ");
                while (!stop.get()) {
                    String id = prefix + n++;
                    MailLoad.send(out, "MAIL FROM:<c@remote.test>\r\nRCPT TO:<team@example.test>\r\nDATA\r\n");
                    MailLoad.expect(in, "250");
                    MailLoad.expect(in, "250");
                    MailLoad.expect(in, "354");
                    MailLoad.send(out, "Subject: outage\r\nX-Test-Id: " + id + "\r\n\r\n" + "body line\r\n".repeat(20) + ".\r\n");
                    String r = MailLoad.expect(in, "");
                    if (r.startsWith("250")) acked.add(id);
                    else if (r.startsWith("451 4.3.0")) tempfails.incrementAndGet();
                    else throw new IOException("unexpected " + r);
                }
            } catch (IOException | RuntimeException e) {
                if (!stop.get()) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }
}
