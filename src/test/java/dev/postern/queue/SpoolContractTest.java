package dev.postern.queue;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The spool contract, run against every implementation: what is committed is recovered, nothing else. */
abstract class SpoolContractTest {
    @TempDir Path dir;
    final List<Spool> open = new ArrayList<>();

    /** A fresh instance on {@code dir}, already recovered; returns it and what it recovered. */
    record Opened(Spool spool, List<QueuedMessage> recovered) {}

    abstract Spool create(Path dir) throws Exception;

    Opened reopen() throws Exception {
        for (Spool s : open) s.close();
        open.clear();
        Spool s = create(dir);
        open.add(s);
        return new Opened(s, s.recover());
    }

    @AfterEach void closeAll() {
        for (Spool s : open) s.close();
    }

    static Envelope envelope() {
        return new Envelope(new ReversePath(new Address("sender", "remote.test")),
                List.of(new Recipient(new Address("alice", "example.test"), "SUCCESS,FAILURE", "rfc822;alice@example.test"),
                        new Recipient(new Address("q u\"o", "example.test"))),
                "8BITMIME", true, "HDRS", "ENV+2B1", "client.example", "127.0.0.1", null, Instant.ofEpochMilli(1_795_000_000_000L));
    }

    static QueuedMessage commit(Spool spool, byte[] body) throws Exception {
        Spool.Incoming in = spool.begin(envelope());
        for (int off = 0; off < body.length; off += 1000) in.write(body, off, Math.min(1000, body.length - off));
        return in.commit();
    }

    static byte[] body(int size, int seed) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) ('a' + (i * 31 + seed) % 26);
        return b;
    }

    static byte[] content(Spool s, String id) throws Exception {
        try (var in = s.openContent(id)) {
            return in.readAllBytes();
        }
    }

    @Test void committedMessagesAreRecoveredWithEnvelopeAndContent() throws Exception {
        Spool spool = reopen().spool();
        byte[] small = "Subject: x\r\n\r\nhello\r\n".getBytes(StandardCharsets.UTF_8);
        byte[] large = body(3_000_000, 7); // many chunks
        QueuedMessage a = commit(spool, small);
        QueuedMessage b = commit(spool, large);
        assertThat(content(spool, b.id())).isEqualTo(large);

        Opened again = reopen();
        assertThat(again.recovered()).extracting(QueuedMessage::id).containsExactlyInAnyOrder(a.id(), b.id());
        QueuedMessage ra = again.recovered().stream().filter(m -> m.id().equals(a.id())).findFirst().orElseThrow();
        assertThat(ra.envelope()).isEqualTo(envelope());
        assertThat(ra.size()).isEqualTo(small.length);
        assertThat(content(again.spool(), a.id())).isEqualTo(small);
        assertThat(content(again.spool(), b.id())).isEqualTo(large);
    }

    @Test void prependedFieldsComeFirstAndSurviveRecovery() throws Exception {
        Spool spool = reopen().spool();
        byte[] body = body(300_000, 3);
        Spool.Incoming in = spool.begin(envelope());
        in.write(body, 0, body.length);
        byte[] fields = "Authentication-Results: mx.example.test; spf=pass\r\n".getBytes(StandardCharsets.US_ASCII);
        in.prepend(fields);
        QueuedMessage m = in.commit();
        byte[] expected = new byte[fields.length + body.length];
        System.arraycopy(fields, 0, expected, 0, fields.length);
        System.arraycopy(body, 0, expected, fields.length, body.length);
        assertThat(m.size()).isEqualTo(expected.length);
        assertThat(content(spool, m.id())).isEqualTo(expected);
        Opened again = reopen();
        assertThat(again.recovered()).singleElement().satisfies(r -> assertThat(r.size()).isEqualTo(expected.length));
        assertThat(content(again.spool(), m.id())).isEqualTo(expected);
        again.spool().remove(m.id());
        assertThat(reopen().recovered()).isEmpty();
    }

    @Test void uncommittedAndAbortedMessagesVanishOnRecovery() throws Exception {
        Spool spool = reopen().spool();
        Spool.Incoming partial = spool.begin(envelope());
        partial.write(body(200_000, 1), 0, 200_000);
        Spool.Incoming aborted = spool.begin(envelope());
        aborted.write("half".getBytes(), 0, 4);
        aborted.abort();
        QueuedMessage kept = commit(spool, body(10, 2));
        assertThat(reopen().recovered()).extracting(QueuedMessage::id).containsExactly(kept.id());
    }

    @Test void recipientStateAndHoldSurviveAndRemoveDeletes() throws Exception {
        Spool spool = reopen().spool();
        QueuedMessage m = commit(spool, body(100, 3));
        var states = List.of(
                new RecipientState(m.recipients().get(0).recipient(), RecipientState.Status.DELIVERED, 1, null, "250 2.0.0 ok"),
                new RecipientState(m.recipients().get(1).recipient(), RecipientState.Status.DEFERRED, 2,
                        Instant.ofEpochMilli(1_795_000_300_000L), "451 4.3.0 try later", "mx.remote.test[192.0.2.1]:25", true));
        spool.saveState(m.withRecipients(states).withHeld(true));
        QueuedMessage back = reopen().recovered().get(0);
        assertThat(back.recipients()).isEqualTo(states);
        assertThat(back.held()).isTrue();
        Spool s2 = open.get(0);
        s2.remove(m.id());
        assertThat(reopen().recovered()).isEmpty();
    }

    @Test void aHoldOnArrivalIsCommittedWithTheMessage() throws Exception {
        Spool spool = reopen().spool();
        Spool.Incoming in = spool.begin(envelope());
        byte[] b = "Subject: quarantined\r\n\r\nx\r\n".getBytes(StandardCharsets.UTF_8);
        in.write(b, 0, b.length);
        in.hold();
        QueuedMessage held = in.commit();
        assertThat(held.held()).isTrue();
        QueuedMessage plain = commit(spool, b);

        List<QueuedMessage> back = reopen().recovered();
        assertThat(back).filteredOn(m -> m.id().equals(held.id())).singleElement().satisfies(m -> assertThat(m.held()).isTrue());
        assertThat(back).filteredOn(m -> m.id().equals(plain.id())).singleElement().satisfies(m -> assertThat(m.held()).isFalse());
    }

    @Test void concurrentCommitsAreAllRecovered() throws Exception {
        Spool spool = reopen().spool();
        Set<String> ids = ConcurrentHashMap.newKeySet();
        ExecutorService pool = Executors.newFixedThreadPool(32);
        for (int i = 0; i < 400; i++) {
            int n = i;
            pool.execute(() -> {
                try {
                    ids.add(commit(spool, body(500 + n * 37, n)).id());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(ids).hasSize(400);
        Opened again = reopen();
        assertThat(again.recovered()).extracting(QueuedMessage::id).containsExactlyInAnyOrderElementsOf(ids);
        for (QueuedMessage m : again.recovered()) assertThat(content(again.spool(), m.id())).hasSize((int) m.size());
    }
}
