package dev.postern.queue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Queue directories as earlier releases left them are served by this one (src/test/resources/upgrade): the
 * first release's five-field recipient states, a later release's seven-field ones with a hold and a delay
 * warning, and a line no release wrote, which costs that recipient its state and a warning, nothing else.
 * Queues written by released code itself (scripts/make-upgrade-fixture, WRITTEN_BY names the release):
 * the first log store (78dbf40), and the log and files stores of 38b9d23 (before this session's changes),
 * each with a partly delivered two-recipient message, a deferred one and a held one.
 */
class UpgradeFixtureTest {

    static void copy(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    @Test void aFilesStoreFromEarlierReleasesKeepsEveryRecipientsState(@TempDir Path dir) throws Exception {
        copy(Path.of("src/test/resources/upgrade/files-first-release"), dir);
        FileSpool spool = new FileSpool(dir.resolve("queue"), Clock.systemUTC());
        Map<String, QueuedMessage> byId = spool.recover().stream().collect(Collectors.toMap(QueuedMessage::id, Function.identity()));
        assertThat(byId).containsOnlyKeys("1N00000000FRST", "1N00000000HELD");

        QueuedMessage first = byId.get("1N00000000FRST");
        List<RecipientState> r = first.recipients();
        assertThat(r).extracting(RecipientState::status).containsExactly(RecipientState.Status.DELIVERED, RecipientState.Status.DEFERRED,
                RecipientState.Status.PENDING);
        assertThat(r.get(1).attempts()).isEqualTo(2);
        assertThat(r.get(1).nextAttempt()).isEqualTo(Instant.ofEpochMilli(1795000600000L));
        assertThat(r.get(1).lastReply()).isEqualTo("451 4.4.1 try later");
        assertThat(first.held()).isFalse();
        assertThat(new String(spool.openContent(first.id()).readAllBytes())).contains("Subject: queued by the first release");

        QueuedMessage held = byId.get("1N00000000HELD");
        assertThat(held.held()).isTrue();
        assertThat(held.recipients().get(0).status()).isEqualTo(RecipientState.Status.DELIVERED);
        assertThat(held.recipients().get(0).relay()).isEqualTo("mx.remote.test[127.0.0.2]:25");
        assertThat(held.recipients().get(1).delayWarned()).isTrue();
        assertThat(held.recipients().get(1).attempts()).isEqualTo(3);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"log-78dbf40, log", "log-38b9d23, log", "files-38b9d23, files"})
    void queuesWrittenByEarlierReleasesAreServedWithEveryState(String fixture, String store, @TempDir Path dir) throws Exception {
        Path from = Path.of("src/test/resources/upgrade", fixture);
        Map<String, String> ids = Files.readAllLines(from.resolve("IDS")).stream().map(l -> l.split(" "))
                .collect(Collectors.toMap(f -> f[0], f -> f[1]));
        copy(from.resolve("queue"), dir.resolve("spool"));
        Spool spool = store.equals("log") ? new LogSpool(dir.resolve("spool"), Clock.systemUTC()) : new FileSpool(dir.resolve("spool"), Clock.systemUTC());
        Map<String, QueuedMessage> byId;
        try {
            byId = spool.recover().stream().collect(Collectors.toMap(QueuedMessage::id, Function.identity()));
        } finally {
            spool.close();
        }
        assertThat(byId).containsOnlyKeys(ids.values());
        QueuedMessage partly = byId.get(ids.get("partly"));
        assertThat(partly.recipients()).extracting(RecipientState::status)
                .containsExactly(RecipientState.Status.DELIVERED, RecipientState.Status.DEFERRED);
        assertThat(partly.recipients().get(1).attempts()).isEqualTo(1);
        assertThat(partly.recipients().get(1).lastReply()).startsWith("451 4.4.1");
        assertThat(byId.get(ids.get("deferred")).recipients().get(0).status()).isEqualTo(RecipientState.Status.DEFERRED);
        assertThat(byId.get(ids.get("held")).held()).isTrue();
        assertThat(byId.get(ids.get("deferred")).held()).isFalse();

        // served by a whole server: the deferred recipients delivered, the held one not, alice not again
        Path served = dir.resolve("server");
        copy(from.resolve("queue"), served.resolve("data/queue"));
        copy(from.resolve("mailboxes"), served.resolve("data/mailboxes"));
        try (var peer = new dev.postern.testing.ScriptedPeer("127.0.0.2");
             var server = dev.postern.testing.TestServer.builder().restartIn(served)
                     .queueSettings(dev.postern.config.Config.QueueSettings.DEFAULT.withStore(dev.postern.config.Config.Store.valueOf(store.toUpperCase())))
                     .transport("remote.test", "[127.0.0.2]:" + peer.port()).start()) {
            server.server.queue().flush(); // their next attempts were minutes away
            long deadline = System.currentTimeMillis() + 10_000;
            while (peer.received.size() < 2 && System.currentTimeMillis() < deadline) Thread.sleep(20);
            assertThat(peer.received).extracting(r -> String.join(",", r.rcptTo()))
                    .containsExactlyInAnyOrder("<friend@remote.test> ORCPT=rfc822;friend@remote.test", "<bob@remote.test> ORCPT=rfc822;bob@remote.test");
            assertThat(peer.received).allMatch(r -> r.text().contains("queued by an earlier release"));
            assertThat(server.server.queue().get(ids.get("held")).held()).isTrue();
            server.server.queue().release(ids.get("held"));
            while (peer.received.size() < 3 && System.currentTimeMillis() < deadline + 10_000) Thread.sleep(20);
            assertThat(peer.received).hasSize(3);
            server.awaitQueueIdle();
            assertThat(server.server.queue().list()).isEmpty();
            assertThat(dev.postern.testing.TestServer.list(served.resolve("data/mailboxes/example.test/alice/Maildir/new")))
                    .as("alice had hers before the upgrade: not again").hasSize(1);
        }
    }

    @Test void mailInTheStoreThatIsNotConfiguredIsReported(@TempDir Path dir) throws Exception {
        copy(Path.of("src/test/resources/upgrade/files-first-release"), dir);
        assertThat(OtherStores.unserved(dir.resolve("queue"), "log")).isEqualTo("not served with [queue] store = \"log\": 2 messages of the "
                + "files store in " + dir.resolve("queue/active") + " (set [queue] store = \"files\" to deliver them)");
        assertThat(OtherStores.unserved(dir.resolve("queue"), "files")).isNull();
        new LogSpool(dir.resolve("queue"), Clock.systemUTC()).close();
        Files.writeString(dir.resolve("queue/log/00000001.seg"), "x");
        assertThat(OtherStores.unserved(dir.resolve("queue"), "files")).contains("1 segment of the log store");
    }
}
