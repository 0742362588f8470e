package dev.postern.tls;

import dev.postern.testing.TestCa;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.TLSARecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 7672 3.1: DANE-EE and DANE-TA matching, selectors 0/1, matching types 0/1/2; PKIX usages unusable. */
class TlsaMatcherTest {
    private X509Certificate ca, leaf, expired;
    private final List<String> names = List.of("mx.dane.test", "dane.test");

    @BeforeEach void setUp(@TempDir Path dir) throws Exception {
        TestCa testCa = new TestCa(dir);
        ca = load(testCa.certFile);
        leaf = load(testCa.issue("leaf", "mx.dane.test")[0]);
        expired = load(testCa.issue("old", Instant.now().minus(Duration.ofDays(30)), Instant.now().minus(Duration.ofDays(1)), "mx.dane.test")[0]);
    }

    private static X509Certificate load(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static TLSARecord tlsa(int usage, int selector, int matching, byte[] data) throws Exception {
        return new TLSARecord(Name.fromString("_25._tcp.mx.dane.test."), DClass.IN, 300, usage, selector, matching, data);
    }

    private static byte[] digest(String alg, byte[] data) throws Exception { return MessageDigest.getInstance(alg).digest(data); }

    @Test void daneEeMatchesTheServersOwnCertificateOrKeyWithoutNameOrDateChecks() throws Exception {
        Certificate[] chain = {leaf};
        assertThat(TlsaMatcher.check(List.of(tlsa(3, 1, 1, digest("SHA-256", leaf.getPublicKey().getEncoded()))), chain, names)).isNull();
        assertThat(TlsaMatcher.check(List.of(tlsa(3, 0, 1, digest("SHA-256", leaf.getEncoded()))), chain, names)).isNull();
        assertThat(TlsaMatcher.check(List.of(tlsa(3, 1, 2, digest("SHA-512", leaf.getPublicKey().getEncoded()))), chain, names)).isNull();
        assertThat(TlsaMatcher.check(List.of(tlsa(3, 0, 0, leaf.getEncoded())), chain, names)).isNull();
        // RFC 7672 3.1.1: neither the names nor the validity dates of a DANE-EE certificate matter
        assertThat(TlsaMatcher.check(List.of(tlsa(3, 0, 1, digest("SHA-256", expired.getEncoded()))), new Certificate[] {expired},
                List.of("other.test"))).isNull();
        PeerVerifier.Failure wrong = TlsaMatcher.check(List.of(tlsa(3, 1, 1, digest("SHA-256", ca.getPublicKey().getEncoded()))), chain, names);
        assertThat(wrong.resultType()).isEqualTo("validation-failure");
    }

    @Test void daneTaValidatesTheChainBelowTheMatchedCertificateAndTheLeafsName() throws Exception {
        List<TLSARecord> ta = List.of(tlsa(2, 0, 1, digest("SHA-256", ca.getEncoded())));
        assertThat(TlsaMatcher.check(ta, new Certificate[] {leaf, ca}, names)).isNull();
        assertThat(TlsaMatcher.check(List.of(tlsa(2, 1, 1, digest("SHA-256", ca.getPublicKey().getEncoded()))),
                new Certificate[] {leaf, ca}, names)).isNull();
        assertThat(TlsaMatcher.check(ta, new Certificate[] {leaf, ca}, List.of("mx.other.test")).resultType())
                .isEqualTo("certificate-host-mismatch");
        assertThat(TlsaMatcher.check(ta, new Certificate[] {expired, ca}, names).resultType()).isEqualTo("certificate-expired");
        // the trust anchor must be in the chain presented
        assertThat(TlsaMatcher.check(ta, new Certificate[] {leaf}, names).resultType()).isEqualTo("validation-failure");
        // a DANE-TA record does not match the leaf itself
        assertThat(TlsaMatcher.check(List.of(tlsa(2, 0, 1, digest("SHA-256", leaf.getEncoded()))), new Certificate[] {leaf, ca}, names))
                .isNotNull();
    }

    @Test void pkixUsagesUnknownParametersAndWrongLengthsAreUnusable() throws Exception {
        byte[] sha256 = digest("SHA-256", leaf.getPublicKey().getEncoded());
        assertThat(TlsaMatcher.usable(tlsa(3, 1, 1, sha256))).isTrue();
        assertThat(TlsaMatcher.usable(tlsa(1, 1, 1, sha256))).as("PKIX-EE, RFC 7672 3.1.3").isFalse();
        assertThat(TlsaMatcher.usable(tlsa(0, 1, 1, sha256))).as("PKIX-TA").isFalse();
        assertThat(TlsaMatcher.usable(tlsa(3, 2, 1, sha256))).isFalse();
        assertThat(TlsaMatcher.usable(tlsa(3, 1, 3, sha256))).isFalse();
        assertThat(TlsaMatcher.usable(tlsa(3, 1, 1, java.util.Arrays.copyOf(sha256, 31)))).isFalse();
        assertThat(TlsaMatcher.usable(tlsa(3, 1, 2, sha256))).as("SHA-512 needs 64 bytes").isFalse();
        // an unusable record never matches, even with the right digest
        assertThat(TlsaMatcher.check(List.of(tlsa(1, 1, 1, sha256)), new Certificate[] {leaf}, names)).isNotNull();
    }
}
