package dev.postern.message;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Verifies the DKIM-Signature fields of one message (RFC 6376 6, RFC 8463, RFC 8301): created from the header
 * section, fed the body as it streams, finished once the keys can be looked up. At most
 * {@link #MAX_SIGNATURES} signatures are checked, so a message cannot make us do unbounded work.
 */
public final class DkimVerifier {
    public static final int MAX_SIGNATURES = 5;
    /** Signature timestamps may run this far ahead of our clock (RFC 6376 3.5 t=: clocks differ). */
    private static final long CLOCK_SKEW_SECONDS = 3600;
    private static final Pattern B_VALUE = Pattern.compile("(^|;)([ \\t\\r\\n]*b[ \\t\\r\\n]*=)[^;]*");

    /** One signature's result in RFC 8601 terms. */
    public record Result(String result, String domain, String selector, String algorithm, String identity,
                         String signaturePrefix, String reason) {
        public boolean passed() { return result.equals("pass"); }
    }

    /** A signature as parsed, with the body hash it is waiting for; error set when it cannot be checked. */
    private record Sig(HeaderField field, Map<String, String> tags, String error, String bodyKey) {}

    private final List<HeaderField> headers;
    private final List<Sig> signatures = new ArrayList<>();
    private final Map<String, BodyHasher> hashers = new HashMap<>();

    /** headers: the whole header section, top to bottom. */
    public DkimVerifier(List<HeaderField> headers) {
        this.headers = headers;
        for (HeaderField f : headers) {
            if (!f.is("DKIM-Signature")) continue;
            if (signatures.size() == MAX_SIGNATURES) break;
            signatures.add(parse(f));
        }
    }

    public boolean hasSignatures() { return !signatures.isEmpty(); }

    public void body(byte[] b, int off, int len) {
        for (BodyHasher h : hashers.values()) h.update(b, off, len);
    }

    private Sig parse(HeaderField f) {
        Map<String, String> t = TagList.parse(f.value());
        if (t == null) return new Sig(f, Map.of(), "malformed signature tag list", null);
        for (String required : new String[]{"v", "a", "b", "bh", "d", "h", "s"}) {
            if (!t.containsKey(required)) return new Sig(f, t, "signature without " + required + "=", null);
        }
        if (!t.get("v").equals("1")) return new Sig(f, t, "unknown signature version", null);
        String a = t.get("a").toLowerCase(Locale.ROOT);
        if (!a.equals("rsa-sha256") && !a.equals("rsa-sha1") && !a.equals("ed25519-sha256")) return new Sig(f, t, "unknown algorithm " + a, null);
        String[] c = t.getOrDefault("c", "simple/simple").toLowerCase(Locale.ROOT).split("/", -1);
        if (c.length > 2 || !List.of("simple", "relaxed").contains(c[0]) || (c.length == 2 && !List.of("simple", "relaxed").contains(c[1]))) {
            return new Sig(f, t, "unknown canonicalization", null);
        }
        List<String> signed = List.of(t.get("h").toLowerCase(Locale.ROOT).replace(" ", "").split(":"));
        if (!signed.contains("from")) return new Sig(f, t, "From is not signed", null); // RFC 6376 5.4
        String d = t.get("d").toLowerCase(Locale.ROOT);
        String i = t.getOrDefault("i", "@" + d);
        String iDomain = i.substring(i.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
        if (!i.contains("@") || !(iDomain.equals(d) || iDomain.endsWith("." + d))) return new Sig(f, t, "i= is not within d=", null);
        long l = -1;
        if (t.containsKey("l")) {
            if (!t.get("l").matches("\\d{1,76}")) return new Sig(f, t, "bad l=", null);
            l = t.get("l").length() > 18 ? Long.MAX_VALUE : Long.parseLong(t.get("l"));
        }
        if (t.containsKey("q") && !t.get("q").toLowerCase(Locale.ROOT).contains("dns/txt")) return new Sig(f, t, "unsupported q=", null);
        boolean relaxedBody = c.length == 2 && c[1].equals("relaxed");
        String hash = a.endsWith("sha1") ? "SHA-1" : "SHA-256";
        String key = relaxedBody + "/" + hash + "/" + l;
        final long limit = l;
        hashers.computeIfAbsent(key, k -> new BodyHasher(relaxedBody, hash, limit));
        return new Sig(f, t, null, key);
    }

    /** Completes every signature's check; keys are looked up here, so run it off the event loop. */
    public List<Result> finish(DkimKeys.Resolver keys, Instant now) {
        Map<String, byte[]> bodyHashes = new LinkedHashMap<>();
        hashers.forEach((k, h) -> bodyHashes.put(k, h.finish()));
        List<Result> out = new ArrayList<>();
        for (Sig s : signatures) out.add(check(s, bodyHashes, keys, now));
        return out;
    }

    private Result check(Sig s, Map<String, byte[]> bodyHashes, DkimKeys.Resolver keys, Instant now) {
        Map<String, String> t = s.tags();
        String d = t.getOrDefault("d", "").toLowerCase(Locale.ROOT);
        String sel = t.getOrDefault("s", "");
        String a = t.getOrDefault("a", "").toLowerCase(Locale.ROOT);
        String b = t.getOrDefault("b", "").replace(" ", "");
        String bPrefix = b.length() > 8 ? b.substring(0, 8) : b;
        String identity = t.getOrDefault("i", d.isEmpty() ? "" : "@" + d);
        java.util.function.BiFunction<String, String, Result> r = (res, why) -> new Result(res, d, sel, a, identity, bPrefix, why);
        if (s.error() != null) return r.apply("neutral", s.error());
        try {
            if (t.containsKey("x")) {
                long x = Long.parseLong(t.get("x"));
                if (t.containsKey("t") && x < Long.parseLong(t.get("t"))) return r.apply("neutral", "x= before t=");
                if (now.getEpochSecond() > x) return r.apply("fail", "signature expired");
            }
            if (t.containsKey("t") && Long.parseLong(t.get("t")) > now.getEpochSecond() + CLOCK_SKEW_SECONDS) return r.apply("neutral", "signature from the future");
        } catch (NumberFormatException e) {
            return r.apply("neutral", "bad t= or x=");
        }
        byte[] expected;
        try {
            expected = Base64.getDecoder().decode(t.get("bh").replace(" ", ""));
        } catch (IllegalArgumentException e) {
            return r.apply("neutral", "bad bh=");
        }
        DkimKeys.Lookup lookup = keys.txt(sel + "._domainkey." + d);
        if (lookup.status() == DkimKeys.Lookup.Status.TEMPFAIL) return r.apply("temperror", "key lookup failed");
        if (lookup.status() == DkimKeys.Lookup.Status.NOT_FOUND || lookup.records().isEmpty()) return r.apply("permerror", "no key for signature");
        DkimKeys.Published key = DkimKeys.parseRecord(lookup.records().get(0));
        if (key.key() == null) return r.apply("permerror", key.error());
        String keyAlg = a.startsWith("rsa") ? "rsa" : "ed25519";
        if (!key.algorithm().equals(keyAlg)) return r.apply("permerror", "key type does not match a=");
        String hashName = a.substring(a.indexOf('-') + 1);
        if (!key.hashes().isEmpty() && !key.hashes().contains(hashName)) return r.apply("permerror", "key does not allow " + hashName);
        if (key.strict()) {
            String iDomain = identity.substring(identity.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
            if (!iDomain.equals(d)) return r.apply("permerror", "key requires i= domain equal to d=");
        }
        // RFC 8301 3.2: RSA keys under 1024 bits are not to be trusted
        if (keyAlg.equals("rsa") && DkimKeys.rsaBits(key.key()) < 1024) return r.apply("permerror", "RSA key shorter than 1024 bits");
        if (!MessageDigest.isEqual(expected, bodyHashes.get(s.bodyKey()))) return r.apply("fail", "body hash did not verify");
        boolean ok;
        try {
            ok = verifySignature(a, key.key(), signedData(s), Base64.getDecoder().decode(b));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return r.apply("fail", "bad signature: " + e.getMessage());
        }
        if (!ok) return r.apply("fail", "signature did not verify");
        // RFC 8301 3.1: rsa-sha1 verifies, but is too weak to be relied on
        if (a.equals("rsa-sha1")) return r.apply("policy", "weak algorithm rsa-sha1");
        return r.apply("pass", key.testing() ? "key in testing mode" : "");
    }

    /** RFC 6376 5.4.2 / 3.7: the signed header fields, bottom-most instance first, then the signature field without b=. */
    private byte[] signedData(Sig s) {
        boolean relaxed = s.tags().getOrDefault("c", "simple").toLowerCase(Locale.ROOT).startsWith("relaxed");
        return signedData(headers, s.tags().get("h"), s.field(), relaxed);
    }

    /** Shared with the signer: what a signature over these headers covers. */
    static byte[] signedData(List<HeaderField> headers, String hTag, HeaderField signature, boolean relaxed) {
        StringBuilder data = new StringBuilder();
        Map<String, Integer> used = new HashMap<>();
        for (String name : hTag.split(":")) {
            String n = name.strip().toLowerCase(Locale.ROOT);
            int skip = used.merge(n, 1, Integer::sum);
            HeaderField f = nthFromBottom(headers, n, skip);
            if (f != null) data.append(Canonical.header(f, relaxed));
        }
        data.append(signatureWithoutB(signature, relaxed));
        return data.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static HeaderField nthFromBottom(List<HeaderField> headers, String name, int n) {
        for (int i = headers.size() - 1; i >= 0; i--) {
            if (headers.get(i).lowerName().equals(name) && --n == 0) return headers.get(i);
        }
        return null;
    }

    static String signatureWithoutB(HeaderField f, boolean relaxed) {
        String raw = f.raw();
        int colon = raw.indexOf(':');
        String stripped = raw.substring(0, colon + 1) + B_VALUE.matcher(raw.substring(colon + 1)).replaceFirst("$1$2");
        String c = relaxed ? Canonical.relaxedHeader(stripped) : stripped;
        return c.endsWith("\r\n") ? c.substring(0, c.length() - 2) : c;
    }

    static boolean verifySignature(String algorithm, PublicKey key, byte[] data, byte[] sig) throws GeneralSecurityException {
        Signature v;
        switch (algorithm) {
            case "rsa-sha256" -> { v = Signature.getInstance("SHA256withRSA"); v.initVerify(key); v.update(data); }
            case "rsa-sha1" -> { v = Signature.getInstance("SHA1withRSA"); v.initVerify(key); v.update(data); }
            default -> { // RFC 8463 3: Ed25519 signs the SHA-256 hash of the data
                v = Signature.getInstance("Ed25519");
                v.initVerify(key);
                v.update(MessageDigest.getInstance("SHA-256").digest(data));
            }
        }
        return v.verify(sig);
    }
}
