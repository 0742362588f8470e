package dev.postern.deliver;

import dev.postern.config.Config;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestCa;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import dev.postern.tls.TlsReports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DANE when sending (RFC 7672): a DNSSEC-signed zone served on loopback (the zone's key is the configured
 * trust anchor), TLSA records for the test port, and scripted receivers on 127.0.0.x.
 */
class DaneTest {

    private static String spkiSha256(Path certPem) throws Exception {
        try (var in = Files.newInputStream(certPem)) {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded()));
        }
    }

    @Test void secureTlsaAuthenticatesMismatchAndBogusDeferUnsignedFallsBack(@TempDir Path dir) throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] good = ca.issue("good", "mx.secure.dane.test");
        Path[] other = ca.issue("other", "mx.wrong.dane.test");
        try (ScriptedPeer secure = new ScriptedPeer("127.0.0.2");
             ScriptedPeer wrong = new ScriptedPeer("127.0.0.3", secure.port());
             ScriptedPeer bogus = new ScriptedPeer("127.0.0.4", secure.port());
             ScriptedPeer pkix = new ScriptedPeer("127.0.0.5", secure.port());
             ScriptedPeer plain = new ScriptedPeer("127.0.0.6", secure.port());
             ScriptedPeer hiding = new ScriptedPeer("127.0.0.7", secure.port());
             TestDnsServer dns = new TestDnsServer()) {
            int port = secure.port();
            String tlsa = "3 1 1 " + spkiSha256(good[0]);
            dns.zone("secure.dane.test. IN MX 10 mx.secure.dane.test.", "mx.secure.dane.test. IN A 127.0.0.2",
                    "_" + port + "._tcp.mx.secure.dane.test. IN TLSA " + tlsa,
                    "wrong.dane.test. IN MX 10 mx.wrong.dane.test.", "mx.wrong.dane.test. IN A 127.0.0.3",
                    "_" + port + "._tcp.mx.wrong.dane.test. IN TLSA " + tlsa,          // not the key mx.wrong presents
                    "bogus.dane.test. IN MX 10 mx.bogus.dane.test.", "mx.bogus.dane.test. IN A 127.0.0.4",
                    "_" + port + "._tcp.mx.bogus.dane.test. IN TLSA " + tlsa,
                    "pkix.dane.test. IN MX 10 mx.pkix.dane.test.", "mx.pkix.dane.test. IN A 127.0.0.5",
                    "_" + port + "._tcp.mx.pkix.dane.test. IN TLSA 1 1 1 " + spkiSha256(good[0]), // PKIX-EE: unusable for SMTP
                    "notlsa.dane.test. IN MX 10 mx.notlsa.dane.test.", "mx.notlsa.dane.test. IN A 127.0.0.6",
                    "unsigned.test. IN MX 10 mx.unsigned.test.", "mx.unsigned.test. IN A 127.0.0.6",
                    "strict.test. IN MX 10 mx.unsigned.test.",
                    "hiding.dane.test. IN MX 10 mx.hiding.dane.test.", "mx.hiding.dane.test. IN A 127.0.0.7",
                    "_" + port + "._tcp.mx.hiding.dane.test. IN TLSA " + tlsa);     // a host that does not offer STARTTLS
            Path anchors = Files.writeString(dir.resolve("anchors"), dns.signed("dane.test") + "\n");
            dns.badSignatures("_" + port + "._tcp.mx.bogus.dane.test");
            for (ScriptedPeer p : List.of(secure, wrong, bogus, pkix)) p.offerStartTls = true;
            secure.certificate = ScriptedPeer.contextFor(good[0], good[1]);
            secure.offerRequireTls = true;
            wrong.certificate = ScriptedPeer.contextFor(other[0], other[1]);
            bogus.certificate = ScriptedPeer.contextFor(good[0], good[1]);
            // pkix: a self-signed certificate for peer.test; plain: no STARTTLS at all
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), port, "mx.example.test", null,
                    Config.TlsMode.DANE, 20, 100).withTls(Config.TlsMode.DANE, null, Map.of("strict.test", Config.TlsMode.DANE_ONLY,
                    "notlsa-only.test", Config.TlsMode.DANE_ONLY)).withDnssecTrustAnchors(anchors);
            try (TestServer s = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d).start()) {
                for (String to : List.of("bob@secure.dane.test", "bob@wrong.dane.test", "bob@bogus.dane.test", "bob@pkix.dane.test",
                        "bob@notlsa.dane.test", "bob@unsigned.test", "bob@strict.test", "bob@hiding.dane.test")) {
                    s.relay(to);
                }
                assertThat(s.awaitLastReply("bob@wrong.dane.test")).startsWith("451 4.7.5").contains("TLSA").contains("validation-failure");
                assertThat(s.awaitLastReply("bob@bogus.dane.test")).startsWith("451 4.7.5").contains("DNSSEC validation failed");
                assertThat(s.awaitLastReply("bob@strict.test")).startsWith("451 4.7.5").contains("dane-only")
                        .contains("not DNSSEC-signed");
                awaitReceived(secure, 1);
                awaitReceived(pkix, 1);
                awaitReceived(plain, 2);
                assertThat(secure.received.get(0).tls()).as("authenticated by its TLSA record").isTrue();
                assertThat(pkix.received.get(0).tls()).as("unusable TLSA records: encrypted, not authenticated").isTrue();
                assertThat(plain.received).as("no TLSA, and an unsigned domain: opportunistic, as \"may\"")
                        .extracting(r -> r.rcptTo().get(0).replaceAll(" .*", "")).containsExactlyInAnyOrder("<bob@notlsa.dane.test>", "<bob@unsigned.test>");
                assertThat(s.awaitLastReply("bob@hiding.dane.test")).startsWith("451 4.7.5").contains("was not offered");
                assertThat(hiding.received).as("TLSA records exist: never in plaintext").isEmpty();
                assertThat(wrong.received).isEmpty();
                assertThat(bogus.received).isEmpty();
                assertThat(bogus.connections).as("a host with bogus TLSA records is never contacted").isZero();

                // REQUIRETLS (RFC 8689): a DANE-authenticated next hop may carry it
                try (SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                    c.startTls();
                    c.command("EHLO client.test", "250");
                    c.command("MAIL FROM:<alice@example.test> REQUIRETLS", "250");
                    c.command("RCPT TO:<carol@secure.dane.test>", "250");
                    c.command("DATA", "354");
                    c.raw("Subject: secret\r\n\r\nbody\r\n.\r\n");
                    c.expect("250");
                }
                awaitReceived(secure, 2);
                assertThat(secure.received.get(1).mailFrom()).endsWith(" REQUIRETLS");

                // TLS-RPT (RFC 8460): sessions counted under the tlsa policy, failures named
                s.server.saveTlsReports();
                String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
                var reports = TlsReports.reports(s.config.dataDir().resolve("tlsrpt"), java.time.LocalDate.parse(today), "mx.example.test",
                        "mailto:postmaster@example.test");
                var secureReport = policy(reports, "secure.dane.test");
                assertThat(secureReport.toString()).contains("\"policy-type\":\"tlsa\"").containsIgnoringCase(tlsa)
                        .contains("\"total-failure-session-count\":0");
                assertThat(secureReport.path("policies").get(0).path("summary").path("total-successful-session-count").asLong())
                        .as("sessions, not messages: the second may ride the first's connection").isBetween(1L, 2L);
                assertThat(policy(reports, "wrong.dane.test").toString()).contains("\"result-type\":\"validation-failure\"");
                assertThat(policy(reports, "bogus.dane.test").toString()).contains("\"result-type\":\"dnssec-invalid\"");
                assertThat(policy(reports, "pkix.dane.test").toString()).contains("\"result-type\":\"tlsa-invalid\"");
                assertThat(policy(reports, "hiding.dane.test").toString()).contains("\"result-type\":\"starttls-not-supported\"");
            }
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode policy(List<TlsReports.Report> reports, String domain) throws Exception {
        for (TlsReports.Report r : reports) {
            if (!r.domain().equals(domain)) continue;
            try (var in = new GZIPInputStream(new java.io.ByteArrayInputStream(r.gzipped()))) {
                return new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
            }
        }
        throw new AssertionError("no report for " + domain + " in " + reports.stream().map(TlsReports.Report::domain).toList());
    }

    private static void awaitReceived(ScriptedPeer p, int n) throws InterruptedException {
        for (int i = 0; i < 500 && p.received.size() < n; i++) Thread.sleep(20);
        assertThat(p.received).hasSize(n);
    }
}
