package dev.postern.route;

import dev.postern.testing.TestDnsServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** DNSSEC validation against a signed zone served on loopback, with the zone's own key as trust anchor. */
class ValidatedDnsTest {
    private TestDnsServer server;
    private ValidatedDns dns;

    @BeforeEach void setUp(@TempDir Path dir) throws Exception {
        server = new TestDnsServer().zone(
                "secure.test. 300 IN MX 10 mx.secure.test.",
                "mx.secure.test. 300 IN A 127.0.0.1",
                "tampered.secure.test. 300 IN A 127.0.0.2",
                "plain.test. 300 IN MX 10 mx.plain.test.");
        Path anchors = dir.resolve("anchors");
        Files.writeString(anchors, server.signed("secure.test") + "\n");
        server.badSignatures("tampered.secure.test");
        dns = new ValidatedDns(List.of(server.address()), Duration.ofSeconds(3), anchors);
    }

    @AfterEach void tearDown() { server.close(); }

    @Test void signedAnswersAreSecure() {
        ValidatedDns.Answer a = dns.query("secure.test", Type.MX);
        assertThat(a.security()).isEqualTo(ValidatedDns.Security.SECURE);
        assertThat(a.records()).hasSize(1);
        assertThat(dns.query("mx.secure.test", Type.A).security()).isEqualTo(ValidatedDns.Security.SECURE);
    }

    @Test void provenDenialsAreSecureAndEmpty() {
        ValidatedDns.Answer nodata = dns.query("mx.secure.test", Type.TLSA);
        assertThat(nodata.security()).as(nodata.detail()).isEqualTo(ValidatedDns.Security.SECURE);
        assertThat(nodata.records()).isEmpty();
        ValidatedDns.Answer nx = dns.query("_25._tcp.mx.secure.test", Type.TLSA);
        assertThat(nx.security()).as(nx.detail()).isEqualTo(ValidatedDns.Security.SECURE);
        assertThat(nx.records()).isEmpty();
    }

    @Test void aBadSignatureIsBogus() {
        ValidatedDns.Answer a = dns.query("tampered.secure.test", Type.A);
        assertThat(a.security()).isEqualTo(ValidatedDns.Security.BOGUS);
        assertThat(a.records()).isEmpty();
        assertThat(a.detail()).contains("validation failed");
    }

    @Test void outsideEveryTrustAnchorIsInsecure() {
        ValidatedDns.Answer a = dns.query("plain.test", Type.MX);
        assertThat(a.security()).isEqualTo(ValidatedDns.Security.INSECURE);
        assertThat(a.records()).hasSize(1);
    }

    @Test void aFileWithoutAnchorsIsRefused(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("none"), "; nothing\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ValidatedDns(List.of(server.address()), Duration.ofSeconds(1), empty))
                .hasMessageContaining("no DS or DNSKEY");
    }
}
