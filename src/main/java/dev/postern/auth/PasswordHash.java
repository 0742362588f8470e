package dev.postern.auth;

import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Argon2 password hashes in the PHC string format ({@code $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH}, base64
 * without padding), which user files have held since the first release.
 *
 * <p>Computed with Bouncy Castle, which allocates a check's memory (m KiB) for that check only. password4j,
 * used before, kept a template of every parameter set it had seen (19 MiB of zeros for ours) on the heap for
 * the life of the process, and a quarter of an idle server's live heap was that template.
 */
public final class PasswordHash {
    // Argon2id with the OWASP-recommended minimum: 19 MiB, 2 iterations, 1 lane; 16-byte salt, 32-byte hash
    private static final int MEMORY_KIB = 19456, ITERATIONS = 2, PARALLELISM = 1, SALT_BYTES = 16, HASH_BYTES = 32;
    private static final Pattern PHC = Pattern.compile(
            "\\$(argon2id|argon2i|argon2d)\\$v=(16|19)\\$m=(\\d{1,9}),t=(\\d{1,6}),p=(\\d{1,3})\\$([A-Za-z0-9+/]+)\\$([A-Za-z0-9+/]+)");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();

    private PasswordHash() {}

    /** A new Argon2id hash of the password with a random salt. */
    public static String hash(String password) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        byte[] out = derive(Argon2Parameters.ARGON2_id, Argon2Parameters.ARGON2_VERSION_13, MEMORY_KIB, ITERATIONS, PARALLELISM,
                salt, password, HASH_BYTES);
        return "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + ITERATIONS + ",p=" + PARALLELISM + "$" + B64.encodeToString(salt)
                + "$" + B64.encodeToString(out);
    }

    /**
     * Whether the password matches the stored hash, with the parameters the hash names (hashes made with
     * other settings still verify). A string that is not an Argon2 PHC hash matches nothing.
     */
    public static boolean verify(String password, String stored) {
        Matcher m = PHC.matcher(stored);
        if (!m.matches()) return false;
        int type = switch (m.group(1)) {
            case "argon2id" -> Argon2Parameters.ARGON2_id;
            case "argon2i" -> Argon2Parameters.ARGON2_i;
            default -> Argon2Parameters.ARGON2_d;
        };
        int version = m.group(2).equals("19") ? Argon2Parameters.ARGON2_VERSION_13 : Argon2Parameters.ARGON2_VERSION_10;
        int memory = Integer.parseInt(m.group(3)), iterations = Integer.parseInt(m.group(4)), lanes = Integer.parseInt(m.group(5));
        // RFC 9106 3.1: at least 8 KiB per lane; a stored hash may not ask for more than 4 GiB
        if (lanes < 1 || iterations < 1 || memory < 8 * lanes || memory > 4 << 20) return false;
        byte[] salt, expected;
        try {
            salt = Base64.getDecoder().decode(m.group(6));
            expected = Base64.getDecoder().decode(m.group(7));
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (expected.length < 4) return false;
        byte[] actual = derive(type, version, memory, iterations, lanes, salt, password, expected.length);
        return MessageDigest.isEqual(actual, expected);
    }

    private static byte[] derive(int type, int version, int memoryKib, int iterations, int lanes, byte[] salt, String password, int length) {
        Argon2BytesGenerator g = new Argon2BytesGenerator();
        g.init(new Argon2Parameters.Builder(type).withVersion(version).withMemoryAsKB(memoryKib).withIterations(iterations)
                .withParallelism(lanes).withSalt(salt).build());
        byte[] out = new byte[length];
        g.generateBytes(password.getBytes(StandardCharsets.UTF_8), out);
        return out;
    }
}
