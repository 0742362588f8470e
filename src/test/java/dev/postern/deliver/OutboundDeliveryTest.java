package dev.postern.deliver;

import dev.postern.config.Config;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outbound delivery end to end: Postern accepts a message, routes it by MX through a DNS server on
 * loopback, and delivers to scripted peers on 127.0.0.x. Bounces come back to the local sender's Maildir.
 */
class OutboundDeliveryTest {
    TestDnsServer dns;
    ScriptedPeer peer;
    TestServer server;

    @BeforeEach void start() throws Exception {
        peer = new ScriptedPeer("127.0.0.2");
        dns = new TestDnsServer().zone(
                "remote.test. IN MX 10 mx.remote.test.",
                "mx.remote.test. IN A 127.0.0.2",
                "failover.test. IN MX 10 dead.failover.test.",
                "failover.test. IN MX 20 alive.failover.test.",
                "dead.failover.test. IN A 127.0.0.3",
                "alive.failover.test. IN A 127.0.0.4",
                "nullmx.test. IN MX 0 .");
    }

    @AfterEach void stop() throws Exception {
        if (server != null) server.close();
        peer.close();
        dns.close();
    }

    Config.Delivery delivery(Config.TlsMode tls, String relayhost, String user, Path password) {
        return new Config.Delivery(relayhost == null ? null : dev.postern.mail.Nexthop.parse(relayhost, peer.port()), user, password,
                List.of(dns.address()), peer.port(), "mx.example.test", null, tls, 20, 100);
    }

    void startServer(Config.Delivery d) throws Exception {
        server = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).start();
    }

    String send(String from, String body, String... rcpts) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<" + from + ">", "250");
            for (String r : rcpts) c.command("RCPT TO:<" + r + ">", "250");
            c.command("DATA", "354");
            c.raw(body + "\r\n.\r\n");
            return c.expect("250 2.0.0");
        }
    }

    void awaitPeer(int messages) throws InterruptedException {
        for (int i = 0; i < 500 && peer.received.size() < messages; i++) Thread.sleep(20);
        assertThat(peer.received).hasSizeGreaterThanOrEqualTo(messages);
    }

    String bounceFor(String localSender) throws Exception {
        List<Path> files = server.awaitMail(localSender, 1);
        assertThat(files).as("a notification in " + localSender + "'s mailbox").isNotEmpty();
        return Files.readString(files.get(files.size() - 1));
    }

    @Test void deliversByMxByteForByteWithDsnParameters() throws Exception {
        peer.sizeLimit = 1_000_000;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        String body = "Subject: out\r\n\r\n..dot-stuffed line\r\nlast";
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<alice@example.test> RET=HDRS ENVID=env1", "250");
            c.command("RCPT TO:<friend@remote.test> NOTIFY=FAILURE ORCPT=rfc822;friend@remote.test", "250");
            c.command("DATA", "354");
            c.raw(body + "\r\n.\r\n");
            c.expect("250 2.0.0");
        }
        awaitPeer(1);
        ScriptedPeer.Received r = peer.received.get(0);
        assertThat(r.mailFrom()).startsWith("<alice@example.test> SIZE=").contains(" RET=HDRS ENVID=env1");
        assertThat(r.rcptTo()).containsExactly("<friend@remote.test> NOTIFY=FAILURE ORCPT=rfc822;friend@remote.test");
        // on the wire: our Received header, then the message exactly as submitted (still dot-stuffed)
        assertThat(r.text()).startsWith("Received: from client.example (").contains("by mx.example.test (Postern) with ESMTP")
                .endsWith("\r\nSubject: out\r\n\r\n..dot-stuffed line\r\nlast\r\n");
        assertThat(peer.commands).contains("EHLO mx.example.test");
        server.awaitQueueIdle();
        assertThat(server.server.queue().list()).isEmpty();
    }

    /** Content far past the socket's buffer: the delivery thread waits for the socket, never for each piece, and nothing is lost. */
    @Test void largeMessageArrivesByteForByteWithDotStuffingAcrossPieces() throws Exception {
        peer.sizeLimit = 10_000_000;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        StringBuilder body = new StringBuilder("Subject: large\r\n\r\n");
        for (int i = 0; i < 11_000; i++) body.append(i % 7 == 0 ? "..starts with a dot " : "line ").append(i).append(" ").append("z".repeat(60)).append("\r\n");
        String text = body.append("end").toString();
        send("alice@example.test", text, "friend@remote.test");
        awaitPeer(1);
        assertThat(peer.received.get(0).text()).endsWith("\r\n" + text + "\r\n");
        server.awaitQueueIdle();
        assertThat(server.server.queue().list()).isEmpty();
    }

    @Test void eachRecipientsReplyIsRecordedSeparately() throws Exception {
        peer.rcptReply = rcpt -> rcpt.startsWith("ok") ? "250 2.1.5 ok" : rcpt.startsWith("later") ? "450 4.2.1 mailbox busy"
                : "550 5.1.1 no such user";
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: mixed\r\n\r\nhi", "ok@remote.test", "later@remote.test", "gone@remote.test");
        awaitPeer(1);
        assertThat(peer.received.get(0).rcptTo()).containsExactly("<ok@remote.test> ORCPT=rfc822;ok@remote.test");
        String dsn = bounceFor("alice@example.test");
        assertThat(dsn).contains("Content-Type: multipart/report; report-type=delivery-status")
                .contains("Reporting-MTA: dns; mx.example.test")
                .contains("Final-Recipient: rfc822; gone@remote.test").contains("Action: failed").contains("Status: 5.1.1")
                .contains("Remote-MTA: dns; mx.remote.test[127.0.0.2]").contains("Diagnostic-Code: smtp; 550 5.1.1 no such user")
                .contains("Content-Type: message/rfc822").contains("Subject: mixed")
                .doesNotContain("Final-Recipient: rfc822; ok@remote.test").doesNotContain("Final-Recipient: rfc822; later@remote.test");
        server.awaitQueueIdle();
        var left = server.server.queue().list();
        assertThat(left).singleElement().satisfies(m -> {
            assertThat(m.recipients().get(0).status().name()).isEqualTo("DELIVERED");
            assertThat(m.recipients().get(1).status().name()).isEqualTo("DEFERRED");
            assertThat(m.recipients().get(1).lastReply()).contains("450 4.2.1");
            assertThat(m.recipients().get(2).status().name()).isEqualTo("FAILED");
        });
    }

    @Test void startTlsIsUsedWhenOfferedAndRequiredWhenEncrypt() throws Exception {
        peer.offerStartTls = true;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: tls\r\n\r\nsecret", "friend@remote.test");
        awaitPeer(1);
        assertThat(peer.received.get(0).tls()).isTrue();
        server.close();

        peer.offerStartTls = false;
        startServer(delivery(Config.TlsMode.ENCRYPT, null, null, null));
        send("alice@example.test", "Subject: tls\r\n\r\nsecret", "friend@remote.test");
        server.awaitQueueIdle();
        assertThat(peer.received).hasSize(1); // nothing more arrived in plaintext
        assertThat(server.server.queue().list()).singleElement()
                .satisfies(m -> assertThat(m.recipients().get(0).lastReply()).contains("4.7.5").contains("TLS is required"));
    }

    @Test void relayhostWithStartTlsAndAuth(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        peer.offerStartTls = true;
        peer.requireAuth = "relayuser:relay-secret";
        Path pw = tmp.resolve("relay.pw");
        Files.writeString(pw, "relay-secret\n");
        startServer(delivery(Config.TlsMode.MAY, "[127.0.0.2]", "relayuser", pw));
        send("alice@example.test", "Subject: via relay\r\n\r\nhi", "someone@anywhere.test");
        awaitPeer(1);
        assertThat(peer.received.get(0).authUser()).isEqualTo("relayuser");
        assertThat(peer.received.get(0).tls()).isTrue();
    }

    @Test void tooBigForThePeerBouncesWithoutSending() throws Exception {
        peer.sizeLimit = 100;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: big\r\n\r\n" + "x".repeat(500), "friend@remote.test");
        String dsn = bounceFor("alice@example.test");
        assertThat(dsn).contains("Status: 5.3.4");
        assertThat(peer.commands).noneMatch(c -> c.startsWith("MAIL") || c.equals("DATA"));
    }

    @Test void eightBitMessageToSevenBitPeerBounces() throws Exception {
        peer.offer8bit = false;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<alice@example.test> BODY=8BITMIME", "250");
            c.command("RCPT TO:<friend@remote.test>", "250");
            c.command("DATA", "354");
            c.raw("Subject: 8bit\r\n\r\nGrüße\r\n.\r\n");
            c.expect("250");
        }
        assertThat(bounceFor("alice@example.test")).contains("Status: 5.6.3");
        assertThat(peer.received).isEmpty();
    }

    @Test void nextMxIsTriedWhenTheFirstIsDown() throws Exception {
        try (ScriptedPeer alive = new ScriptedPeer("127.0.0.4", peer.port())) {
            startServer(delivery(Config.TlsMode.MAY, null, null, null));
            send("alice@example.test", "Subject: failover\r\n\r\nhi", "x@failover.test");
            for (int i = 0; i < 500 && alive.received.isEmpty(); i++) Thread.sleep(20);
            assertThat(alive.received).hasSize(1);
        }
    }

    @Test void nullMxAndNxdomainBounce() throws Exception {
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: nowhere\r\n\r\nhi", "a@nullmx.test", "b@nxdomain.test");
        List<Path> files = server.awaitMail("alice@example.test", 1);
        String dsn = Files.readString(files.get(0));
        assertThat(dsn).contains("Final-Recipient: rfc822; a@nullmx.test").contains("Status: 5.1.10")
                .contains("Final-Recipient: rfc822; b@nxdomain.test").contains("Status: 5.1.2");
        assertThat(files).hasSize(1); // one notification lists every failed recipient
    }

    @Test void connectionIsReusedForTheNextMessage() throws Exception {
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: one\r\n\r\n1", "friend@remote.test");
        awaitPeer(1);
        send("alice@example.test", "Subject: two\r\n\r\n2", "friend@remote.test");
        awaitPeer(2);
        assertThat(peer.connections).isEqualTo(1);
    }

    @Test void successNoticesOnlyWhenTheNextHopCannotGiveThem() throws Exception {
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<alice@example.test>", "250");
            c.command("RCPT TO:<friend@remote.test> NOTIFY=SUCCESS", "250");
            c.command("DATA", "354");
            c.raw("Subject: dsn\r\n\r\nhi\r\n.\r\n");
            c.expect("250");
        }
        awaitPeer(1);
        assertThat(peer.received.get(0).rcptTo().get(0)).contains("NOTIFY=SUCCESS");
        server.awaitQueueIdle();
        assertThat(server.awaitMail("alice@example.test", 0)).isEmpty();
        server.close();

        peer.offerDsn = false;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<alice@example.test>", "250");
            c.command("RCPT TO:<friend@remote.test> NOTIFY=SUCCESS,FAILURE", "250");
            c.command("DATA", "354");
            c.raw("Subject: dsn\r\n\r\nhi\r\n.\r\n");
            c.expect("250");
        }
        String notice = bounceFor("alice@example.test");
        assertThat(notice).contains("Subject: Successful Mail Delivery Report").contains("Action: relayed")
                .contains("Content-Type: text/rfc822-headers");
        assertThat(peer.received.get(1).rcptTo().get(0)).doesNotContain("NOTIFY");
    }

    @Test void droppedConnectionMidDataIsDeferred() throws Exception {
        peer.dropAfterDataBytes = 10;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: drop\r\n\r\n" + "y".repeat(200), "friend@remote.test");
        for (int i = 0; i < 500 && server.server.queue().list().stream().noneMatch(m -> m.recipients().get(0).attempts() > 0); i++) Thread.sleep(20);
        server.awaitQueueIdle();
        assertThat(server.server.queue().list()).singleElement().satisfies(m -> {
            assertThat(m.recipients().get(0).status().name()).isEqualTo("DEFERRED");
            assertThat(m.recipients().get(0).lastReply()).startsWith("451 4.4.2");
        });
        assertThat(peer.received).isEmpty();
    }

    @Test void heloFallbackForPeersWithoutEsmtp() throws Exception {
        peer.refuseEhlo = true;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: old peer\r\n\r\nhi", "friend@remote.test");
        awaitPeer(1);
        assertThat(peer.commands).contains("HELO mx.example.test");
        assertThat(peer.received.get(0).mailFrom()).isEqualTo("<alice@example.test>"); // no ESMTP parameters
    }

    @Test void failedHandshakeFallsBackToPlaintextInMayModeOnly() throws Exception {
        peer.offerStartTls = true;
        peer.breakTls = true;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("alice@example.test", "Subject: fallback\r\n\r\nhi", "friend@remote.test");
        awaitPeer(1);
        assertThat(peer.received.get(0).tls()).isFalse();
        assertThat(peer.commands.stream().filter(c -> c.equals("STARTTLS")).count()).isEqualTo(1);
        server.close();

        startServer(delivery(Config.TlsMode.ENCRYPT, null, null, null));
        send("alice@example.test", "Subject: no fallback\r\n\r\nhi", "friend@remote.test");
        server.awaitQueueIdle();
        Thread.sleep(200);
        server.awaitQueueIdle();
        assertThat(peer.received).hasSize(1);
        assertThat(server.server.queue().list()).singleElement()
                .satisfies(m -> assertThat(m.recipients().get(0).lastReply()).contains("4.7.5"));
    }

    @Test void lmtpGivesOneReplyPerRecipient() throws Exception {
        peer.lmtp = true;
        peer.lmtpDataReply = r -> r.startsWith("full") ? "452 4.2.2 mailbox full" : "250 2.0.0 delivered";
        server = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(delivery(Config.TlsMode.MAY, null, null, null))
                .transport("lmtp.test", "lmtp:127.0.0.2:" + peer.port()).start();
        send("alice@example.test", "Subject: lmtp\r\n\r\nhi", "ok@lmtp.test", "full@lmtp.test");
        awaitPeer(1);
        assertThat(peer.commands).contains("LHLO mx.example.test");
        server.awaitQueueIdle();
        assertThat(server.server.queue().list()).singleElement().satisfies(m -> {
            assertThat(m.recipients().get(0).status().name()).isEqualTo("DELIVERED");
            assertThat(m.recipients().get(1).status().name()).isEqualTo("DEFERRED");
            assertThat(m.recipients().get(1).lastReply()).contains("452 4.2.2 mailbox full");
        });
    }

    @Test void smtputf8MessageToAPeerWithoutItBounces() throws Exception {
        peer.offerSmtpUtf8 = false;
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<alice@example.test> SMTPUTF8", "250");
            c.command("RCPT TO:<jörg@remote.test>", "250");
            c.command("DATA", "354");
            c.raw("Subject: utf8\r\n\r\nhi\r\n.\r\n");
            c.expect("250");
        }
        assertThat(bounceFor("alice@example.test")).contains("Status: 5.6.7");
        assertThat(peer.received).isEmpty();
    }

    @Test void bouncesAreNeverBounced() throws Exception {
        peer.rcptReply = r -> "550 5.1.1 no such user";
        startServer(delivery(Config.TlsMode.MAY, null, null, null));
        send("", "Subject: a bounce\r\n\r\nhi", "gone@remote.test");
        for (int i = 0; i < 500 && peer.commands.stream().noneMatch(c -> c.startsWith("RCPT")); i++) Thread.sleep(20);
        server.awaitQueueIdle();
        assertThat(server.server.queue().list()).isEmpty(); // failed, removed, and no notification queued
    }

    @Test void perDestinationConcurrencyIsRespected() throws Exception {
        java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        peer.rcptReply = rcpt -> {
            int now = active.incrementAndGet();
            most.accumulateAndGet(now, Math::max);
            try {
                Thread.sleep(150); // hold the delivery open so others would overlap if allowed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            active.decrementAndGet();
            return "250 2.1.5 ok";
        };
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), peer.port(), "mx.example.test", null,
                Config.TlsMode.MAY, 2, 100);
        startServer(d);
        for (int i = 0; i < 8; i++) send("alice@example.test", "Subject: " + i + "\r\n\r\nx", "user" + i + "@remote.test");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> peer.received.size() == 8);
        assertThat(most.get()).as("at most destination_concurrency = 2 at once").isEqualTo(2);
    }
}
