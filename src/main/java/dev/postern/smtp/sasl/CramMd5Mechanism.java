package dev.postern.smtp.sasl;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/** RFC 2195 CRAM-MD5: a unique challenge, answered with "user SP hex(HMAC-MD5(secret, challenge))". */
public final class CramMd5Mechanism implements SaslServer {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final byte[] challenge;

    CramMd5Mechanism(String hostname) {
        // RFC 2195 2: the challenge is a msg-id, unique per exchange
        this.challenge = ("<" + Long.toUnsignedString(RANDOM.nextLong()) + "." + System.currentTimeMillis()
                + "@" + hostname + ">").getBytes(StandardCharsets.US_ASCII);
    }

    @Override public Step start(byte[] initial) {
        if (initial != null) return new Malformed("CRAM-MD5 takes no initial response");
        return new Challenge(challenge);
    }

    @Override public Step next(byte[] response) {
        String s = new String(response, StandardCharsets.UTF_8);
        int sp = s.lastIndexOf(' ');
        if (sp <= 0) return new Malformed("CRAM-MD5 response is 'user digest'");
        String digest = s.substring(sp + 1);
        if (!digest.matches("[0-9a-fA-F]{32}")) return new Malformed("digest must be 32 hex digits");
        return new Verify(new Credentials.CramMd5(s.substring(0, sp), challenge.clone(), digest.toLowerCase()));
    }
}
