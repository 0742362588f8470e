package dev.postern.deliver;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Nexthop;
import dev.postern.mail.Outcome;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.route.Hop;
import dev.postern.route.RouteDecision;
import dev.postern.testing.ScriptedPeer;
import dev.postern.tls.TlsPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transaction the outbound event loop drives on its own (pipelining peer, body up to 256 KiB): the
 * delivery thread hands over commands and content and waits once. Against a real socket peer.
 */
class PipelinedTransactionTest {
    ScriptedPeer peer;
    SmtpDelivery smtp;

    @BeforeEach void start() throws Exception {
        peer = new ScriptedPeer("127.0.0.2");
        smtp = new SmtpDelivery(new SmtpDelivery.Settings("mx.example.test", null, TlsPolicy.MAY, null, null, null, null, null,
                Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(2)));
    }

    @AfterEach void stop() throws Exception {
        smtp.close();
        peer.close();
    }

    List<Outcome> deliver(String content, String... rcpts) {
        RouteDecision.Hops route = new RouteDecision.Hops(Nexthop.parse("[127.0.0.2]:" + peer.port(), peer.port()),
                List.of(new Hop("peer.test", addr(), peer.port())), false);
        List<Recipient> rs = java.util.Arrays.stream(rcpts).map(r -> new Recipient(Address.parse(r, false))).toList();
        Envelope env = new Envelope(new ReversePath(Address.parse("alice@example.test", false)), rs, null, false, null, null,
                "client.test", "127.0.0.1", null, Instant.now());
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        return smtp.deliver(route, env, rs, b.length, () -> new ByteArrayInputStream(b));
    }

    static InetAddress addr() {
        try {
            return InetAddress.getByName("127.0.0.2");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test void smallMessageIsDotStuffedAndTerminatedByTheEventLoop() {
        String text = "Subject: dots\r\n\r\n.one\r\n..two\r\nmiddle . dot\r\n.\r\nlast line without an end";
        List<Outcome> out = deliver(text, "friend@remote.test");
        assertThat(out).singleElement().satisfies(o -> assertThat(o.kind()).isEqualTo(Outcome.Kind.DELIVERED));
        // the peer undoes the stuffing as RFC 5321 4.5.2 says: what it got back is the message, plus the CRLF we add
        String got = peer.received.get(0).text().replace("\r\n..", "\r\n.");
        assertThat(got).isEqualTo(text + "\r\n");
        assertThat(peer.received.get(0).text()).contains("\r\n...two\r\n").contains("\r\n..\r\n").startsWith("Subject: dots");
    }

    @Test void refusedRecipientsKeepTheirOwnRepliesAndTheRestIsSent() {
        peer.rcptReply = r -> r.startsWith("nobody") ? "550 5.1.1 no such user" : "250 2.1.5 ok";
        List<Outcome> out = deliver("Subject: two\r\n\r\nhi\r\n", "nobody@remote.test", "friend@remote.test");
        assertThat(out.get(0).kind()).isEqualTo(Outcome.Kind.PERMANENT_FAILURE);
        assertThat(out.get(0).reply().toString()).contains("550 5.1.1");
        assertThat(out.get(1).kind()).isEqualTo(Outcome.Kind.DELIVERED);
        assertThat(peer.received).singleElement().satisfies(r -> assertThat(r.rcptTo()).singleElement().asString().startsWith("<friend@remote.test>"));
    }

    @Test void allRecipientsRefusedSendsNoBodyAndTheConnectionStaysUsable() {
        peer.rcptReply = r -> "550 5.1.1 no such user";
        List<Outcome> out = deliver("Subject: none\r\n\r\nhi\r\n", "a@remote.test", "b@remote.test");
        assertThat(out).allSatisfy(o -> assertThat(o.kind()).isEqualTo(Outcome.Kind.PERMANENT_FAILURE));
        assertThat(peer.received).isEmpty();
        peer.rcptReply = r -> "250 2.1.5 ok";
        assertThat(deliver("Subject: next\r\n\r\nhi\r\n", "c@remote.test")).singleElement()
                .satisfies(o -> assertThat(o.kind()).isEqualTo(Outcome.Kind.DELIVERED));
        assertThat(peer.connections).isEqualTo(1);
    }

    @Test void aPeerThatNeverAnswersTheMessageTimesOutAsATemporaryFailure() {
        peer.silentAfterData = true;
        long t0 = System.nanoTime();
        List<Outcome> out = deliver("Subject: silent\r\n\r\nhi\r\n", "friend@remote.test");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(out).singleElement().satisfies(o -> {
            assertThat(o.kind()).isEqualTo(Outcome.Kind.TEMPORARY_FAILURE);
            assertThat(o.reply().toString()).contains("451 4.4.2").contains("timeout after 2s");
        });
        assertThat(ms).isBetween(1_900L, 6_000L); // the data time-out, not the safety bound
    }

    @Test void aPeerThatHangsUpBeforeTheFinalReplyIsATemporaryFailure() {
        peer.hangUpAfterData = true;
        List<Outcome> out = deliver("Subject: gone\r\n\r\nhi\r\n", "friend@remote.test");
        assertThat(out).singleElement().satisfies(o -> {
            assertThat(o.kind()).isEqualTo(Outcome.Kind.TEMPORARY_FAILURE);
            assertThat(o.reply().toString()).contains("451 4.4.2").contains("lost connection");
        });
        assertThat(peer.received).hasSize(1); // it had the message: a retry may duplicate it, never lose it
    }

    @Test void aLossAfterSomeRepliesKeepsTheRefusalsThatCameAndDefersTheRest() {
        peer.rcptReply = r -> r.startsWith("nobody") ? "550 5.1.1 no such user" : "250 2.1.5 ok";
        peer.hangUpOnData = true;
        List<Outcome> out = deliver("Subject: cut\r\n\r\nhi\r\n", "nobody@remote.test", "friend@remote.test");
        assertThat(out.get(0).kind()).isEqualTo(Outcome.Kind.PERMANENT_FAILURE);
        assertThat(out.get(0).reply().toString()).contains("550 5.1.1");
        assertThat(out.get(1).kind()).isEqualTo(Outcome.Kind.TEMPORARY_FAILURE);
        assertThat(out.get(1).reply().toString()).contains("451 4.4.2");
        assertThat(peer.received).isEmpty();
    }
}
