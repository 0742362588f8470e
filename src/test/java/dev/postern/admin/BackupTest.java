package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.mail.Nexthop;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * postern backup under load and postern restore elsewhere: every message acknowledged before the backup
 * began is in the restored queue exactly once, and is delivered from there.
 */
class BackupTest {

    /** Queue id (from our Received field) → how many times the peer got that message. */
    private static Map<String, Integer> delivered(ScriptedPeer up) {
        Map<String, Integer> seen = new java.util.HashMap<>();
        Pattern id = Pattern.compile("\\tid (\\S+)");
        synchronized (up.received) {
            for (ScriptedPeer.Received r : up.received) {
                Matcher m = id.matcher(r.text());
                if (m.find()) seen.merge(m.group(1), 1, Integer::sum);
            }
        }
        return seen;
    }

    @Test void backupUnderLoadRestoreElsewhereEveryAcknowledgedMessageOnce(@TempDir Path dir) throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // the relayhost is down: everything stays queued
        }
        Config.Delivery down = new Config.Delivery(Nexthop.parse("[127.0.0.1]:" + closed, 25), null, null, List.of(), 25, "mx.example.test",
                null, Config.TlsMode.MAY, 20, 100);
        Map<String, Long> acked = new ConcurrentHashMap<>();
        Path backup = dir.resolve("backup.zip");
        long backupStarted;
        Path restoredData = dir.resolve("restored/data");
        try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(down).start()) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int n = t;
                Thread th = new Thread(() -> {
                    try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                        for (int i = 0; !stop.get() && i < 200; i++) {
                            String r = c.sendMail("alice@example.test", "bob@remote.test", "Subject: load " + n + "/" + i + "\r\n\r\nx\r\n");
                            if (r.startsWith("250")) acked.put(r.substring(r.lastIndexOf(' ') + 1), System.nanoTime());
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                th.start();
                clients.add(th);
            }
            while (acked.size() < 40) Thread.sleep(10);
            Path conf = Files.writeString(dir.resolve("a.toml"), "hostname = \"mx.example.test\"\ndata_dir = \"" + s.config.dataDir()
                    + "\"\ndomains = [\"example.test\"]\n");
            backupStarted = System.nanoTime();
            assertThat(Cli.run("backup", "--to", backup.toString(), "--config", conf.toString())).isZero();
            stop.set(true);
            for (Thread th : clients) th.join();
            assertThat(acked.size()).isGreaterThan(40);
        }
        List<String> before = acked.entrySet().stream().filter(e -> e.getValue() < backupStarted).map(Map.Entry::getKey).toList();
        assertThat(before).hasSizeGreaterThanOrEqualTo(40);

        // restore into an empty data directory, then a server there delivers everything restored
        Path confB = Files.writeString(dir.resolve("b.toml"), "hostname = \"mx.example.test\"\ndata_dir = \"" + restoredData
                + "\"\ndomains = [\"example.test\"]\n");
        assertThat(Cli.run("restore", backup.toString(), "--config", confB.toString())).isZero();
        assertThat(Cli.run("restore", backup.toString(), "--config", confB.toString())).as("never over a data directory in use").isEqualTo(1);
        try (ScriptedPeer up = new ScriptedPeer("127.0.0.1")) {
            up.offerStartTls = true; // a relayhost gets at least "encrypt"
            Config.Delivery upDelivery = new Config.Delivery(Nexthop.parse("[127.0.0.1]:" + up.port(), 25), null, null, List.of(), 25,
                    "mx.example.test", null, Config.TlsMode.MAY, 20, 100);
            try (TestServer restored = TestServer.builder().restartIn(restoredData.getParent()).relayNetworks("127.0.0.1/32").delivery(upDelivery).start()) {
                restored.server.queue().flush(); // deferred before the backup: due again now, as "postern queue flush" does
                Map<String, Integer> seen = new ConcurrentHashMap<>();
                for (int i = 0; i < 1000 && !seen.keySet().containsAll(before); i++) {
                    Thread.sleep(20);
                    seen.clear();
                    seen.putAll(delivered(up));
                }
                Thread.sleep(500); // a duplicate would arrive now
                seen.clear();
                seen.putAll(delivered(up));
                for (String b : before) assertThat(seen.get(b)).as("message " + b + " acknowledged before the backup").isEqualTo(1);
                assertThat(seen.values()).allMatch(n -> n == 1);
            }
        }
    }

    @Test void aBackupOfANewerFormatIsRefused(@TempDir Path dir) throws Exception {
        Path zip = dir.resolve("newer.zip");
        try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new java.util.zip.ZipEntry("MANIFEST"));
            out.write("postern-backup 2\n".getBytes());
            out.closeEntry();
        }
        Path conf = Files.writeString(dir.resolve("c.toml"), "data_dir = \"" + dir.resolve("data") + "\"\ndomains = [\"example.test\"]\n");
        assertThat(Cli.run("restore", zip.toString(), "--config", conf.toString())).isEqualTo(1);
        assertThat(dir.resolve("data/queue")).doesNotExist();
    }
}
