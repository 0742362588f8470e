package dev.postern.queue;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The spool contract, run against the file spool: what is committed is recovered, nothing else. */
class FileSpoolTest {
    @TempDir Path dir;

    static Envelope envelope() {
        return new Envelope(new ReversePath(new Address("sender", "remote.test")),
                List.of(new Recipient(new Address("alice", "example.test"), "SUCCESS,FAILURE", "rfc822;alice@example.test"),
                        new Recipient(new Address("q u\"o", "example.test"))),
                "8BITMIME", true, "HDRS", "ENV+2B1", "client.example", "127.0.0.1", null, Instant.ofEpochMilli(1_795_000_000_000L));
    }

    @Test void committedMessagesAreRecoveredWithEnvelopeAndContent() throws Exception {
        Spool spool = new FileSpool(dir, Clock.systemUTC());
        Spool.Incoming in = spool.begin(envelope());
        byte[] body = "Subject: x\r\n\r\nhello\r\n".getBytes(StandardCharsets.UTF_8);
        in.write(body, 0, body.length);
        QueuedMessage m = in.commit();

        List<QueuedMessage> found = new FileSpool(dir, Clock.systemUTC()).recover();
        assertThat(found).singleElement().satisfies(q -> {
            assertThat(q.id()).isEqualTo(m.id());
            assertThat(q.envelope()).isEqualTo(envelope());
            assertThat(q.size()).isEqualTo(body.length);
        });
        try (var content = spool.openContent(m.id())) {
            assertThat(content.readAllBytes()).isEqualTo(body);
        }
    }

    @Test void uncommittedMessagesVanishOnRecovery() throws Exception {
        Spool spool = new FileSpool(dir, Clock.systemUTC());
        Spool.Incoming partial = spool.begin(envelope());
        partial.write("half".getBytes(), 0, 4);
        assertThat(new FileSpool(dir, Clock.systemUTC()).recover()).isEmpty();
        assertThat(dev.postern.testing.TestServer.list(dir.resolve("incoming"))).isEmpty();
    }

    @Test void recipientStateSurvivesAndRemoveDeletes() throws Exception {
        Spool spool = new FileSpool(dir, Clock.systemUTC());
        Spool.Incoming in = spool.begin(envelope());
        QueuedMessage m = in.commit();
        var states = List.of(
                new RecipientState(m.recipients().get(0).recipient(), RecipientState.Status.DELIVERED, 1, null, "250 2.0.0 ok"),
                new RecipientState(m.recipients().get(1).recipient(), RecipientState.Status.DEFERRED, 2,
                        Instant.ofEpochMilli(1_795_000_300_000L), "451 4.3.0 try later"));
        spool.saveState(m.withRecipients(states));
        QueuedMessage back = new FileSpool(dir, Clock.systemUTC()).recover().get(0);
        assertThat(back.recipients()).isEqualTo(states);
        spool.remove(m.id());
        assertThat(new FileSpool(dir, Clock.systemUTC()).recover()).isEmpty();
    }
}
