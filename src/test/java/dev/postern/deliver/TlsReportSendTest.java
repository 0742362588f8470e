package dev.postern.deliver;

import dev.postern.config.Config;
import dev.postern.testing.MutableClock;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With tlsrpt_send, a finished day's TLS report goes once to the rua of the policy domain's _smtp._tls record:
 * mailed to its mailto: address and POSTed to its https: URI (a JDK HttpsServer with a test-CA certificate).
 */
class TlsReportSendTest {

    @Test void yesterdaysReportIsMailedOnceToTheRuaAddress(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        dev.postern.testing.TestCa ca = new dev.postern.testing.TestCa(dir.resolve("ca"));
        Path[] web = ca.issue("web", "127.0.0.11");
        com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(new java.net.InetSocketAddress("127.0.0.11", 0), 0);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(dev.postern.testing.ScriptedPeer.contextFor(web[0], web[1])));
        List<String> posted = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<byte[]> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
        https.createContext("/tlsrpt", ex -> {
            posted.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type"));
            bodies.add(ex.getRequestBody().readAllBytes());
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        https.start();
        try {
            sendAndPost(dir, ca, "https://127.0.0.11:" + https.getAddress().getPort() + "/tlsrpt");
        } finally {
            https.stop(0);
        }
        assertThat(posted).containsExactly("POST application/tlsrpt+gzip");
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new GZIPInputStream(new ByteArrayInputStream(bodies.get(0))));
        assertThat(json.path("policies").get(0).path("policy").path("policy-domain").asText()).isEqualTo("good.test");
    }

    private void sendAndPost(Path dir, dev.postern.testing.TestCa ca, String httpsRua) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        MutableClock clock = new MutableClock(Instant.parse("2026-12-01T12:00:00Z"));
        try (TestServer receiver = TestServer.builder().hostname("mx1.good.test").domains("good.test").listenOn("127.0.0.3").smtpPort(port)
                .user("carol@good.test").start();
             TestDnsServer dns = new TestDnsServer().zone("good.test. IN MX 10 mx1.good.test.", "mx1.good.test. IN A 127.0.0.3",
                     "_smtp._tls.good.test. IN TXT \"v=TLSRPTv1; rua=mailto:bob@example.test," + httpsRua + "\"")) {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), port, "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100).withTls(Config.TlsMode.MAY, ca.certFile, java.util.Map.of()).withTlsrptSend(true);
            try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).clock(clock).start()) {
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    assertThat(c.sendMail("alice@example.test", "carol@good.test", "Subject: counted")).startsWith("250");
                }
                assertThat(receiver.awaitMail("carol@good.test", 1)).hasSize(1);
                s.server.sendTlsReportsOnce();
                assertThat(s.awaitMail("bob@example.test", 1)).as("the day is not over: nothing yet").isEmpty();
                clock.advance(Duration.ofDays(1));
                s.server.sendTlsReportsOnce();
                List<Path> got = s.awaitMail("bob@example.test", 1);
                assertThat(got).hasSize(1);
                String mail = Files.readString(got.get(0));
                assertThat(mail).startsWith("Return-Path: <>\n").contains("TLS-Report-Domain: good.test")
                        .contains("TLS-Report-Submitter: mx.example.test").contains("multipart/report; report-type=\"tlsrpt\"")
                        .contains("Content-Type: application/tlsrpt+gzip").contains("Subject: Report Domain: good.test Submitter: mx.example.test");
                Matcher m = Pattern.compile("Content-Transfer-Encoding: base64\\nContent-Disposition: attachment; filename=\"([^\"]+)\"\\n\\n([A-Za-z0-9+/=\\n]+)\\n--")
                        .matcher(mail);
                assertThat(m.find()).isTrue();
                assertThat(m.group(1)).isEqualTo("mx.example.test!good.test!1796083200!1796169600.json.gz");
                byte[] gz = Base64.getMimeDecoder().decode(m.group(2));
                var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new GZIPInputStream(new ByteArrayInputStream(gz)));
                assertThat(json.path("date-range").path("start-datetime").asText()).isEqualTo("2026-12-01T00:00:00Z");
                var policy = json.path("policies").get(0);
                assertThat(policy.path("policy").path("policy-type").asText()).isEqualTo("no-policy-found");
                assertThat(policy.path("summary").path("total-successful-session-count").asLong()).isEqualTo(1);
                s.server.sendTlsReportsOnce();
                Thread.sleep(300);
                assertThat(s.awaitMail("bob@example.test", 1)).as("sent once").hasSize(1);
            }
        }
    }
}
