package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.RecipientState;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import dev.postern.store.Database;
import dev.postern.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The administrator against a delivery attempt in flight: a next hop that takes two seconds to answer 451,
 * and a hold or a delete issued meanwhile. What the administrator asked for wins over the attempt's outcome,
 * on a single node (its own queue) and on a cluster node (the queue in PostgreSQL).
 */
class QueueRaceTest {
    ScriptedPeer peer;
    TestServer server;
    Path config;
    final CountDownLatch inAttempt = new CountDownLatch(1);
    Config.Cluster cluster;

    void start(String mode) throws Exception {
        if (mode.equals("cluster")) {
            cluster = TestPostgres.get().cluster(null, "node1");
            try (Database db = Database.open(cluster, 2)) {
                db.migrate();
            }
        }
        peer = new ScriptedPeer("127.0.0.2");
        peer.rcptReply = rcpt -> {
            inAttempt.countDown();
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "451 4.3.0 slow and unwilling";
        };
        server = startServer(null);
        config = server.dir.resolve("cli.toml");
        Files.writeString(config, "data_dir = \"data\"\ndomains = [\"example.test\"]\n");
    }

    TestServer startServer(Path restartIn) throws Exception {
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(), peer.port(), "mx.example.test", null, Config.TlsMode.MAY, 20, 100);
        var b = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).transport("remote.test", "[127.0.0.2]:" + peer.port())
                .cluster(cluster);
        if (restartIn != null) b.restartIn(restartIn);
        return b.start();
    }

    @AfterEach void stop() throws Exception {
        if (server != null) server.close();
        if (peer != null) peer.close();
    }

    String queueOneDuringAnAttempt() throws Exception {
        String id;
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            String r = c.sendMail("alice@example.test", "friend@remote.test", "Subject: slow\r\n\r\nhi");
            id = r.substring(r.lastIndexOf(' ') + 1);
        }
        assertThat(inAttempt.await(10, TimeUnit.SECONDS)).as("the attempt reached RCPT").isTrue();
        return id;
    }

    @ParameterizedTest @ValueSource(strings = {"single", "cluster"})
    void holdIssuedDuringAnAttemptWinsOverItsOutcome(String mode) throws Exception {
        start(mode);
        String id = queueOneDuringAnAttempt();
        assertThat(QueueCliTest.cli(config, "queue", "hold", id).code()).isZero();
        assertThat(server.server.queue().get(id).recipients().get(0).attempts()).as("the attempt is still running").isZero();
        server.awaitQueueIdle();

        QueuedMessage m = server.server.queue().get(id);
        assertThat(m.held()).as("held after the attempt ended").isTrue();
        assertThat(m.recipients().get(0).attempts()).as("the attempt itself is recorded").isEqualTo(1);
        assertThat(m.recipients().get(0).status()).isEqualTo(RecipientState.Status.DEFERRED);
        assertThat(QueueCliTest.cli(config, "queue", "show", id, "--json").out()).contains("\"held\" : true");

        // and durably so: after a restart it is still held and not tried
        server.stop();
        server = startServer(server.dir);
        Thread.sleep(300);
        server.awaitQueueIdle();
        assertThat(server.server.queue().get(id).held()).isTrue();
        assertThat(peer.connections).as("no attempt after the restart").isEqualTo(1);
    }

    @ParameterizedTest @ValueSource(strings = {"single", "cluster"})
    void deleteIssuedDuringAnAttemptWinsOverItsOutcome(String mode) throws Exception {
        start(mode);
        String id = queueOneDuringAnAttempt();
        assertThat(QueueCliTest.cli(config, "queue", "delete", id).code()).isZero();
        assertThat(server.server.queue().get(id)).isNull();
        server.awaitQueueIdle();
        assertThat(server.server.queue().pending()).as("the attempt's outcome has arrived").isZero();

        assertThat(server.server.queue().list()).as("not back in the queue as deferred").isEmpty();
        assertThat(QueueCliTest.cli(config, "queue", "list").out()).contains("Mail queue is empty");
        server.stop();
        server = startServer(server.dir);
        assertThat(server.server.queue().list()).as("nor after a restart").isEmpty();
    }
}
