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
