package dev.postern.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * HMAC-MD5 (RFC 2104) split at the pads: the states of MD5 after (key XOR ipad) and after (key XOR opad).
 * Stored instead of the password; enough to check a CRAM-MD5 answer, not enough to recover the password.
 */
public record CramMd5Secret(int[] inner, int[] outer) {

    public static CramMd5Secret derive(String password) {
        byte[] key = password.getBytes(StandardCharsets.UTF_8);
        if (key.length > 64) key = md5(key);
        byte[] ipad = new byte[64];
        byte[] opad = new byte[64];
        for (int i = 0; i < 64; i++) {
            byte k = i < key.length ? key[i] : 0;
            ipad[i] = (byte) (k ^ 0x36);
            opad[i] = (byte) (k ^ 0x5c);
        }
        int[] in = Md5.initialState();
        int[] out = Md5.initialState();
        Md5.compress(in, ipad, 0);
        Md5.compress(out, opad, 0);
        return new CramMd5Secret(in, out);
    }

    public String hmacHex(byte[] message) {
        byte[] innerDigest = Md5.finish(inner, 64, message);
        return HexFormat.of().formatHex(Md5.finish(outer, 64, innerDigest));
    }

    public String encode() {
        StringBuilder sb = new StringBuilder();
        for (int v : inner) sb.append(String.format("%08x", v));
        for (int v : outer) sb.append(String.format("%08x", v));
        return sb.toString();
    }

    public static CramMd5Secret decode(String hex) {
        if (!hex.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("bad CRAM-MD5 secret");
        int[] in = new int[4], out = new int[4];
        for (int i = 0; i < 4; i++) {
            in[i] = Integer.parseUnsignedInt(hex.substring(i * 8, i * 8 + 8), 16);
            out[i] = Integer.parseUnsignedInt(hex.substring(32 + i * 8, 40 + i * 8), 16);
        }
        return new CramMd5Secret(in, out);
    }

    private static byte[] md5(byte[] b) {
        try {
            return MessageDigest.getInstance("MD5").digest(b);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
