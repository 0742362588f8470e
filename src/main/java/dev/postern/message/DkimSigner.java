package dev.postern.message;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Signs outgoing mail (RFC 6376 5, RFC 8463): relaxed/relaxed, SHA-256, RSA or Ed25519. */
public final class DkimSigner {

    /** A signing key of one domain and selector. */
    public record Key(String domain, String selector, PrivateKey privateKey) {
        public String algorithm() { return privateKey.getAlgorithm().equals("RSA") ? "rsa-sha256" : "ed25519-sha256"; }
    }

    /** Header fields signed when present, as RFC 6376 5.4.1 recommends. */
    static final List<String> SIGNED = List.of("from", "reply-to", "subject", "date", "to", "cc", "message-id",
            "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
            "list-id", "list-unsubscribe", "list-unsubscribe-post");
    /** Signed once more than they occur, so nobody can add another after us (RFC 6376 8.15 over-signing). */
    static final Set<String> OVERSIGNED = Set.of("from", "reply-to", "subject", "date", "to", "cc", "message-id",
            "mime-version", "content-type", "content-transfer-encoding");

    private DkimSigner() {}

    /** A body hasher of the kind {@link #sign} expects. */
    public static BodyHasher bodyHasher() { return new BodyHasher(true, "SHA-256", -1); }

    /** The DKIM-Signature field (folded, with CRLF) for a message with these headers and body hash. */
    public static String sign(List<HeaderField> headers, byte[] bodyHash, Key key, long timestamp) throws GeneralSecurityException {
        String template = "DKIM-Signature: v=1; a=" + key.algorithm() + "; c=relaxed/relaxed; d=" + key.domain()
                + "; s=" + key.selector() + "; t=" + timestamp + ";\r\n\th=" + hTag(headers)
                + ";\r\n\tbh=" + Base64.getEncoder().encodeToString(bodyHash) + ";\r\n\tb=";
        return complete(headers, template, key.privateKey(), true);
    }

    /**
     * One DKIM-Signature per key, concatenated in key order; a key that fails is logged and left out, so the
     * mail still goes with the signatures that worked.
     */
    public static String signAll(List<HeaderField> headers, byte[] bodyHash, List<Key> keys, long timestamp) {
        StringBuilder out = new StringBuilder();
        for (Key k : keys) {
            try {
                out.append(sign(headers, bodyHash, k, timestamp));
            } catch (GeneralSecurityException | RuntimeException e) {
                log.warn("cannot sign with DKIM key {}.{}: {}", k.domain(), k.selector(), e.toString());
            }
        }
        return out.toString();
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("postern.dkim");

    /** The h= value for these headers: each signed name as often as it occurs, over-signed names once more. */
    static String hTag(List<HeaderField> headers) {
        List<String> h = new ArrayList<>();
        for (String name : SIGNED) {
            long n = headers.stream().filter(f -> f.lowerName().equals(name)).count();
            if (OVERSIGNED.contains(name) && (n > 0 || name.equals("from"))) n++;
            for (long i = 0; i < n; i++) h.add(name);
        }
        return fold(String.join(":", h), ':');
    }

    /** Fills in b= for a signature field whose b= is empty and last (used directly by the RFC 8463 vector test). */
    static String complete(List<HeaderField> headers, String template, PrivateKey privateKey, boolean relaxed) throws GeneralSecurityException {
        HeaderField field = HeaderField.parse(template + "\r\n");
        String hTag = TagList.parse(field.value()).get("h");
        byte[] data = DkimVerifier.signedData(headers, hTag, field, relaxed);
        return template + fold(Base64.getEncoder().encodeToString(signature(privateKey, data)), (char) 0) + "\r\n";
    }

    /** RSA-SHA256, or Ed25519 over the SHA-256 hash (RFC 8463 3). */
    static byte[] signature(PrivateKey privateKey, byte[] data) throws GeneralSecurityException {
        byte[] sig;
        if (privateKey.getAlgorithm().equals("RSA")) {
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initSign(privateKey);
            s.update(data);
            sig = s.sign();
        } else {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(MessageDigest.getInstance("SHA-256").digest(data));
            sig = s.sign();
        }
        return sig;
    }

    /** Breaks a long tag value into 64-character pieces on folded lines (white space there is ignored). */
    static String fold(String value, char after) {
        StringBuilder out = new StringBuilder();
        int col = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            out.append(c);
            col++;
            boolean breakHere = after == 0 ? col >= 64 : (c == after && col >= 56);
            if (breakHere && i + 1 < value.length()) {
                out.append("\r\n\t ");
                col = 0;
            }
        }
        return out.toString();
    }

}
