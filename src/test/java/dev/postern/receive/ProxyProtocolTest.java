package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A listener behind a TCP load balancer (HAProxy's PROXY protocol, v1 and v2) over real sockets: the client
 * the header names is the one Received and a per-address rate limit see; a header from an address that is
 * not a listed balancer, or a malformed one, closes the connection.
 */
class ProxyProtocolTest {
    TestDnsServer dns;
    TestServer server;

    @BeforeEach void start() throws Exception {
        dns = new TestDnsServer(); // the client names in headers are looked up here, never on the Internet
        Map<String, List<String>> phases = new HashMap<>(Config.Policy.DEFAULT.phases());
        phases.put("rcpt", List.of("rate_limit", "permit_mynetworks", "permit_authenticated", "reject_unauth_destination"));
        Config.Policy policy = new Config.Policy(phases, Set.of(), Map.of(), 1, Map.of(), Duration.ofMinutes(5), Duration.ofDays(2),
                Duration.ofDays(36), 0, 2, List.of());
        Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), 25, "mx.example.test", null, Config.TlsMode.MAY, 20, 100);
        // the balancer is 127.0.0.1; 127.0.0.2 is someone else
        server = TestServer.builder().listenOn("127.0.0.1").proxyProtocolFrom("127.0.0.1/32").policy(policy).delivery(d).start();
    }

    @AfterEach void stop() throws Exception {
        server.close();
        dns.close();
    }

    SmtpClient through(byte[] header) throws Exception {
        SmtpClient c = SmtpClient.connect(server.smtp());
        c.raw(header);
        c.expect("220 ");
        c.command("EHLO client.example", "250");
        return c;
    }

    static byte[] v1(String client) {
        return ("PROXY TCP4 " + client + " 127.0.0.1 51234 25\r\n").getBytes();
    }

    /** The binary form (v2), PROXY command, TCP over IPv4. */
    static byte[] v2(String client) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.write(0x21); // version 2, PROXY
        b.write(0x11); // AF_INET, STREAM
        b.write(0);
        b.write(12);
        b.write(InetAddress.getByName(client).getAddress());
        b.write(InetAddress.getByName("127.0.0.1").getAddress());
        b.write(new byte[] {(byte) 0xC8, 0x32, 0x00, 0x19});
        return b.toByteArray();
    }

    @Test void theHeadersClientIsTheOneReceivedAndRateLimitsSee() throws Exception {
        try (SmtpClient c = through(v1("203.0.113.7"))) {
            assertThat(c.sendMail("s@remote.test", "alice@example.test", "Subject: via the balancer\r\n\r\nhi")).startsWith("250");
        }
        String mail = Files.readString(server.awaitMail("alice@example.test", 1).get(0));
        assertThat(mail).contains("[203.0.113.7]").doesNotContain("[127.0.0.1]");

        // recipients_per_minute = 2, counted for the proxied address, not for the balancer
        try (SmtpClient c = through(v2("203.0.113.7"))) {
            c.command("MAIL FROM:<s@remote.test>", "250");
            assertThat(c.command("RCPT TO:<alice@example.test>", "")).as("second of the minute").startsWith("250");
            assertThat(c.command("RCPT TO:<bob@example.test>", "")).as("third of the minute").startsWith("450 4.7.1");
        }
        try (SmtpClient c = through(v2("203.0.113.8"))) {
            c.command("MAIL FROM:<s@remote.test>", "250");
            assertThat(c.command("RCPT TO:<alice@example.test>", "")).as("another client behind the same balancer").startsWith("250");
        }
    }

    @Test void aHeaderFromAnAddressNotListedIsRefused() throws Exception {
        try (SmtpClient c = SmtpClient.connectFrom("127.0.0.2", server.smtp())) {
            c.raw(v1("203.0.113.7"));
            assertThat(c.closedByServer()).as("closed without a greeting").isTrue();
        }
    }

    @Test void aMalformedHeaderOrNoneClosesTheConnection() throws Exception {
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.raw("PROXY TCP4 not-an-address 127.0.0.1 1 25\r\n".getBytes());
            assertThat(c.closedByServer()).isTrue();
        }
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.raw("EHLO client.example\r\n".getBytes());
            assertThat(c.closedByServer()).as("plain SMTP where a PROXY header must come first").isTrue();
        }
    }
}
