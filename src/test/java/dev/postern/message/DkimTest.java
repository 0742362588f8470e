package dev.postern.message;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** DKIM against the RFC 8463 Appendix A vectors, RFC 6376 3.4.5 canonicalization examples, and our own signatures. */
class DkimTest {
    static final String ED25519_RECORD = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    static final String RSA_RECORD = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
            + "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
            + "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
            + "Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
    /** RFC 8463 A.1: the Ed25519 private key is RFC 8032 7.1 test 1's seed. */
    static final String ED25519_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    static final Instant NOW = Instant.parse("2026-11-24T00:00:00Z");

    final Map<String, String> dns = new HashMap<>(Map.of(
            "brisbane._domainkey.football.example.com", ED25519_RECORD,
            "test._domainkey.football.example.com", RSA_RECORD));

    DkimKeys.Lookup lookup(String name) {
        String r = dns.get(name);
        return r == null ? new DkimKeys.Lookup(DkimKeys.Lookup.Status.NOT_FOUND, List.of())
                : new DkimKeys.Lookup(DkimKeys.Lookup.Status.OK, List.of(r));
    }

    static String rfcMessage() throws Exception {
        try (var in = DkimTest.class.getResourceAsStream("/dkim/rfc8463-a3.eml")) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    List<DkimVerifier.Result> verify(String message) {
        HeaderSection h = new HeaderSection();
        byte[] b = message.getBytes(StandardCharsets.ISO_8859_1);
        int taken = h.feed(b, 0, b.length);
        h.end();
        DkimVerifier v = new DkimVerifier(h.fields());
        // the body arrives in small pieces, as from a socket
        for (int i = taken; i < b.length; i += 7) v.body(b, i, Math.min(7, b.length - i));
        return v.finish(this::lookup, NOW);
    }

    @Test void rfc8463ExampleVerifiesWithBothAlgorithms() throws Exception {
        List<DkimVerifier.Result> r = verify(rfcMessage());
        assertThat(r).extracting(DkimVerifier.Result::result).containsExactly("pass", "pass");
        assertThat(r).extracting(DkimVerifier.Result::algorithm).containsExactly("ed25519-sha256", "rsa-sha256");
        assertThat(r.get(0).domain()).isEqualTo("football.example.com");
        assertThat(r.get(0).signaturePrefix()).isEqualTo("/gCrinpc");
    }

    @Test void tamperedBodyAndHeaderFail() throws Exception {
        assertThat(verify(rfcMessage().replace("We lost the game", "We won the game")))
                .allSatisfy(x -> assertThat(x.reason()).isEqualTo("body hash did not verify"));
        assertThat(verify(rfcMessage().replace("Subject: Is dinner ready?", "Subject: Is lunch ready?")))
                .allSatisfy(x -> assertThat(x.reason()).isEqualTo("signature did not verify"));
        // relaxed canonicalization: white space changes inside lines do not matter
        assertThat(verify(rfcMessage().replace("Are you hungry", "Are   you \thungry")))
                .extracting(DkimVerifier.Result::result).containsExactly("pass", "pass");
    }

    @Test void overSignedFromCannotBeAdded() throws Exception {
        String withExtraFrom = rfcMessage().replace("From: Joe", "From: Mallory <m@evil.test>\r\nFrom: Joe");
        assertThat(verify(withExtraFrom)).extracting(DkimVerifier.Result::result).containsExactly("fail", "fail");
    }

    @Test void missingRevokedAndUnreachableKeys() throws Exception {
        dns.remove("test._domainkey.football.example.com");
        dns.put("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=");
        List<DkimVerifier.Result> r = verify(rfcMessage());
        assertThat(r).extracting(DkimVerifier.Result::result).containsExactly("permerror", "permerror");
        assertThat(r.get(0).reason()).isEqualTo("key revoked");
        assertThat(r.get(1).reason()).isEqualTo("no key for signature");
        HeaderSection h = new HeaderSection();
        byte[] b = rfcMessage().getBytes(StandardCharsets.ISO_8859_1);
        h.feed(b, 0, b.length);
        assertThat(new DkimVerifier(h.fields()).finish(n -> new DkimKeys.Lookup(DkimKeys.Lookup.Status.TEMPFAIL, List.of()), NOW))
                .extracting(DkimVerifier.Result::result).containsExactly("temperror", "temperror");
    }

    @Test void ed25519SigningReproducesTheRfcSignature() throws Exception {
        // Ed25519 is deterministic: the same key, fields and tags give RFC 8463's b= exactly
        byte[] prefix = HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] pkcs8 = new byte[48];
        System.arraycopy(prefix, 0, pkcs8, 0, 16);
        System.arraycopy(Base64.getDecoder().decode(ED25519_SEED), 0, pkcs8, 16, 32);
        PrivateKey key = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        String msg = rfcMessage();
        List<HeaderField> fields = HeaderSection.parse(msg);
        String template = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n d=football.example.com; i=@football.example.com;\r\n"
                + " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n subject : date : message-id : from : subject : date;\r\n"
                + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=";
        String field = DkimSigner.complete(fields.subList(2, fields.size()), template, key, true);
        assertThat(field.substring(template.length()).replaceAll("\\s", ""))
                .isEqualTo("/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
        assertThat(DkimKeys.record(KeyFactory.getInstance("Ed25519").generatePublic(
                new java.security.spec.X509EncodedKeySpec(publicOf(Base64.getDecoder().decode(ED25519_SEED)))))).isEqualTo(ED25519_RECORD);
    }

    /** The public half of an Ed25519 seed: the JDK derives it only while generating, so we feed it the seed. */
    private static byte[] publicOf(byte[] seed) throws Exception {
        var gen = KeyPairGenerator.getInstance("Ed25519");
        gen.initialize(new java.security.spec.NamedParameterSpec("Ed25519"), new FixedRandom(seed));
        return gen.generateKeyPair().getPublic().getEncoded();
    }

    /** Feeds a fixed seed to the key generator, so it derives the public key of a known private key. */
    static final class FixedRandom extends java.security.SecureRandom {
        private final byte[] seed;
        FixedRandom(byte[] seed) { this.seed = seed; }
        @Override public void nextBytes(byte[] bytes) { System.arraycopy(seed, 0, bytes, 0, bytes.length); }
    }

    @Test void rfc6376CanonicalizationExamples() {
        // RFC 6376 3.4.5
        List<HeaderField> f = HeaderSection.parse("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n");
        assertThat(Canonical.header(f.get(0), true) + Canonical.header(f.get(1), true)).isEqualTo("a:X\r\nb:Y Z\r\n");
        assertThat(Canonical.header(f.get(0), false) + Canonical.header(f.get(1), false)).isEqualTo("A: X\r\nB : Y\t\r\n\tZ  \r\n");
        byte[] body = " C \r\nD \t E\r\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(hash(true, body)).isEqualTo(sha256(" C\r\nD E\r\n"));
        assertThat(hash(false, body)).isEqualTo(sha256(" C \r\nD \t E\r\n"));
        // empty bodies: CRLF under simple, nothing under relaxed
        assertThat(hash(false, new byte[0])).isEqualTo(sha256("\r\n"));
        assertThat(hash(true, "\r\n\r\n".getBytes())).isEqualTo(sha256(""));
    }

    @Test void lengthLimitLetsContentBeAppended() throws Exception {
        KeyPair kp = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        dns.put("l._domainkey.example.test", DkimKeys.record(kp.getPublic()));
        String msg = "From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n";
        List<HeaderField> fields = HeaderSection.parse(msg);
        String template = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=l; l=6; h=from:subject;\r\n bh="
                + Base64.getEncoder().encodeToString(sha256("body\r\n")) + ";\r\n b=";
        String signed = DkimSigner.complete(fields, template, kp.getPrivate(), true) + msg;
        assertThat(verify(signed)).extracting(DkimVerifier.Result::result).containsExactly("pass");
        assertThat(verify(signed + "appended by a list\r\n")).extracting(DkimVerifier.Result::result).containsExactly("pass");
    }

    @Test void ourSignaturesVerifyForBothAlgorithms() throws Exception {
        for (String alg : new String[]{"RSA", "Ed25519"}) {
            KeyPair kp = KeyPairGenerator.getInstance(alg).generateKeyPair();
            dns.put("s1._domainkey.example.test", DkimKeys.record(kp.getPublic()));
            String msg = "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: test\r\n\r\nHello  \r\n\r\n";
            BodyHasher bh = DkimSigner.bodyHasher();
            byte[] b = msg.getBytes(StandardCharsets.ISO_8859_1);
            int start = msg.indexOf("\r\n\r\n") + 4;
            bh.update(b, start, b.length - start);
            String sig = DkimSigner.sign(HeaderSection.parse(msg), bh.finish(),
                    new DkimSigner.Key("example.test", "s1", DkimKeys.readPrivateKey(DkimKeys.pem(kp.getPrivate()))), NOW.getEpochSecond());
            assertThat(sig).startsWith("DKIM-Signature: v=1; a=" + (alg.equals("RSA") ? "rsa-sha256" : "ed25519-sha256"));
            assertThat(sig).contains("h=from:from:subject:subject:to:to;");
            assertThat(verify(sig + msg)).extracting(DkimVerifier.Result::result).as(alg).containsExactly("pass");
        }
    }

    @Test void rsaKeysPublishedAsPkcs1AreAcceptedToo() throws Exception {
        KeyPair kp = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        var spki = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded());
        String pkcs1 = Base64.getEncoder().encodeToString(spki.parsePublicKey().getEncoded());
        DkimKeys.Published k = DkimKeys.parseRecord("v=DKIM1; k=rsa; p=" + pkcs1);
        assertThat(k.key()).isEqualTo(kp.getPublic());
        assertThat(DkimKeys.parseRecord("v=DKIM1; k=rsa; p=AAAA").error()).startsWith("unusable key");
    }

    @Test void rsaSha1IsReportedAsWeak() throws Exception {
        KeyPair kp = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        dns.put("old._domainkey.example.test", DkimKeys.record(kp.getPublic()));
        String msg = "From: a@example.test\r\n\r\nx\r\n";
        var md = java.security.MessageDigest.getInstance("SHA-1");
        String bh = Base64.getEncoder().encodeToString(md.digest("x\r\n".getBytes()));
        String field = "DKIM-Signature: v=1; a=rsa-sha1; c=simple/simple; d=example.test; s=old; h=from; bh=" + bh + "; b=";
        byte[] data = DkimVerifier.signedData(HeaderSection.parse(msg), "from", HeaderField.parse(field + "\r\n"), false);
        var s = java.security.Signature.getInstance("SHA1withRSA");
        s.initSign(kp.getPrivate());
        s.update(data);
        String signed = field + Base64.getEncoder().encodeToString(s.sign()) + "\r\n" + msg;
        List<DkimVerifier.Result> r = verify(signed);
        assertThat(r).extracting(DkimVerifier.Result::result).containsExactly("policy");
        assertThat(r.get(0).reason()).contains("rsa-sha1");
    }

    private static byte[] hash(boolean relaxed, byte[] body) {
        BodyHasher h = new BodyHasher(relaxed, "SHA-256", -1);
        for (int i = 0; i < body.length; i++) h.update(body, i, 1); // byte by byte: state carries across chunks
        return h.finish();
    }

    private static byte[] sha256(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.ISO_8859_1));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
