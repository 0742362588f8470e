package dev.postern.message;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** DKIM key records (RFC 6376 3.6.1, RFC 8463 4) and PEM key files. JDK crypto throughout. */
public final class DkimKeys {
    private DkimKeys() {}

    /** The published keys of a selector, as the DNS answered: OK with TXT strings, or why not. */
    public record Lookup(Status status, List<String> records) {
        public enum Status { OK, NOT_FOUND, TEMPFAIL }
    }

    /** Looks up {@code selector._domainkey.domain} TXT. */
    @FunctionalInterface
    public interface Resolver {
        Lookup txt(String name);
    }

    /** A usable public key, or why the record was not. */
    public record Published(PublicKey key, String algorithm, String error, boolean testing, boolean strict, List<String> hashes) {}

    /** X.509 SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410); the DNS carries the bare 32 octets. */
    private static final byte[] ED25519_SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    public static Published parseRecord(String txt) {
        Map<String, String> tags = TagList.parse(txt);
        if (tags == null) return error("malformed key record");
        String v = tags.get("v");
        if (v != null && (!v.equals("DKIM1") || !tags.keySet().iterator().next().equals("v"))) return error("bad key record version");
        String k = tags.getOrDefault("k", "rsa");
        String p = tags.get("p");
        if (p == null) return error("key record without p=");
        p = p.replace(" ", "");
        if (p.isEmpty()) return error("key revoked");
        String flags = tags.getOrDefault("t", "");
        boolean testing = Arrays.asList(flags.split(":")).contains("y");
        boolean strict = Arrays.asList(flags.split(":")).contains("s");
        String s = tags.getOrDefault("s", "*");
        if (!Arrays.stream(s.split(":")).map(String::strip).anyMatch(x -> x.equals("*") || x.equals("email"))) return error("key not for email");
        List<String> hashes = tags.containsKey("h") ? Arrays.stream(tags.get("h").split(":")).map(String::strip).toList() : List.of();
        try {
            byte[] der = Base64.getDecoder().decode(p);
            PublicKey key = switch (k) {
                case "rsa" -> rsaPublicKey(der);
                case "ed25519" -> {
                    if (der.length != 32) throw new GeneralSecurityException("Ed25519 key is not 32 octets");
                    byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, 44);
                    System.arraycopy(der, 0, spki, 12, 32);
                    yield KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
                }
                default -> throw new GeneralSecurityException("unknown key type k=" + k);
            };
            return new Published(key, k, null, testing, strict, hashes);
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return error("unusable key: " + e.getMessage());
        }
    }

    /**
     * RFC 6376 3.6.1 says SubjectPublicKeyInfo, but some publish the bare PKCS#1 RSAPublicKey; verifiers such as
     * dkimpy and OpenDKIM accept both, so do we.
     */
    private static PublicKey rsaPublicKey(byte[] der) throws GeneralSecurityException {
        try {
            return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException spkiFailed) {
            try {
                var pkcs1 = org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(der);
                return KeyFactory.getInstance("RSA").generatePublic(
                        new java.security.spec.RSAPublicKeySpec(pkcs1.getModulus(), pkcs1.getPublicExponent()));
            } catch (IllegalArgumentException | IllegalStateException notPkcs1) {
                throw spkiFailed;
            }
        }
    }

    private static Published error(String why) { return new Published(null, null, why, false, false, List.of()); }

    /** The p= value for a public key: SPKI DER for RSA, the raw 32 octets for Ed25519 (RFC 8463 4.2). */
    public static String publicValue(PublicKey key) {
        byte[] der = key.getEncoded();
        if (key.getAlgorithm().equals("RSA")) return Base64.getEncoder().encodeToString(der);
        return Base64.getEncoder().encodeToString(Arrays.copyOfRange(der, der.length - 32, der.length));
    }

    /** "v=DKIM1; k=ed25519; p=..." as published in DNS. */
    public static String record(PublicKey key) {
        return "v=DKIM1; k=" + (key.getAlgorithm().equals("RSA") ? "rsa" : "ed25519") + "; p=" + publicValue(key);
    }

    public static int rsaBits(PublicKey key) {
        return key instanceof RSAKey r ? r.getModulus().bitLength() : 0;
    }

    /** Reads an unencrypted PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----"), RSA or Ed25519. */
    public static PrivateKey readPrivateKey(String pem) throws GeneralSecurityException {
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        for (String alg : new String[]{"Ed25519", "RSA"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException ignored) {
                // try the other algorithm
            }
        }
        throw new GeneralSecurityException("not a PKCS#8 RSA or Ed25519 private key");
    }

    public static String pem(PrivateKey key) {
        String b64 = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded());
        return "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n";
    }
}
