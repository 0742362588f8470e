package dev.postern.message;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ARC (RFC 8617) for one message: validates the chain of ARC sets it carries and, when configured, seals it
 * with a new set as it leaves our administrative domain. Created from the header section, fed the body.
 */
public final class Arc {
    /** RFC 8617 4.2.1: instance values run from 1 to 50. */
    static final int MAX_INSTANCE = 50;
    private static final Pattern AAR_INSTANCE = Pattern.compile("^\\s*i\\s*=\\s*(\\d+)\\s*;", Pattern.CASE_INSENSITIVE);

    /** The chain validation status (RFC 8617 4.4) and why. */
    public record Validation(String status, String reason, int instances) {}

    private static final class Set3 {
        HeaderField aar, ams, seal;
        int count;
    }

    private final TreeMap<Integer, Set3> sets = new TreeMap<>();
    private final List<HeaderField> messageHeaders;
    private String structureError;
    private BodyHasher amsBody;
    private Map<String, String> amsTags;
    private final BodyHasher sealBody;

    /** willSeal: hash the body for our own ARC-Message-Signature too. */
    public Arc(List<HeaderField> headers, boolean willSeal) {
        this.sealBody = willSeal ? new BodyHasher(true, "SHA-256", -1) : null;
        this.messageHeaders = headers;
        for (HeaderField f : headers) {
            String n = f.lowerName();
            if (!n.equals("arc-seal") && !n.equals("arc-message-signature") && !n.equals("arc-authentication-results")) continue;
            int i = instance(f);
            if (i < 1 || i > MAX_INSTANCE) {
                structureError = "ARC instance out of range in " + f.name();
                continue;
            }
            Set3 s = sets.computeIfAbsent(i, k -> new Set3());
            s.count++;
            switch (n) {
                case "arc-seal" -> { if (s.seal != null) structureError = "two ARC-Seal fields for i=" + i; s.seal = f; }
                case "arc-message-signature" -> { if (s.ams != null) structureError = "two ARC-Message-Signature fields for i=" + i; s.ams = f; }
                default -> { if (s.aar != null) structureError = "two ARC-Authentication-Results fields for i=" + i; s.aar = f; }
            }
        }
        if (!sets.isEmpty()) {
            Set3 last = sets.lastEntry().getValue();
            if (last.ams != null) {
                amsTags = TagList.parse(last.ams.value());
                if (amsTags != null && amsTags.containsKey("bh")) {
                    String[] c = amsTags.getOrDefault("c", "simple/simple").toLowerCase(Locale.ROOT).split("/");
                    String a = amsTags.getOrDefault("a", "rsa-sha256").toLowerCase(Locale.ROOT);
                    amsBody = new BodyHasher(c.length == 2 && c[1].equals("relaxed"), a.endsWith("sha1") ? "SHA-1" : "SHA-256", -1);
                }
            }
        }
    }

    private static int instance(HeaderField f) {
        if (f.is("ARC-Authentication-Results")) {
            Matcher m = AAR_INSTANCE.matcher(f.value());
            return m.find() ? parse(m.group(1)) : -1;
        }
        Map<String, String> t = TagList.parse(f.value());
        return t == null || !t.containsKey("i") ? -1 : parse(t.get("i"));
    }

    private static int parse(String s) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public void body(byte[] b, int off, int len) {
        if (amsBody != null) amsBody.update(b, off, len);
        if (sealBody != null) sealBody.update(b, off, len);
    }

    private byte[] sealBodyHash;

    /** RFC 8617 5.2: validates the chain; keys are looked up, so call it off the event loop. */
    public Validation validate(DkimKeys.Resolver keys) {
        sealBodyHash = sealBody == null ? null : sealBody.finish();
        byte[] amsHash = amsBody == null ? null : amsBody.finish();
        if (sets.isEmpty()) return new Validation("none", structureError == null ? "" : structureError, 0);
        int n = sets.lastKey();
        if (structureError != null) return new Validation("fail", structureError, n);
        for (int i = 1; i <= n; i++) {
            Set3 s = sets.get(i);
            if (s == null || s.aar == null || s.ams == null || s.seal == null || s.count != 3) return new Validation("fail", "ARC set " + i + " is missing or incomplete", n);
        }
        Map<String, String> lastSeal = TagList.parse(sets.get(n).seal.value());
        if (lastSeal == null) return new Validation("fail", "malformed ARC-Seal", n);
        if ("fail".equalsIgnoreCase(lastSeal.get("cv"))) return new Validation("fail", "the chain had already failed at i=" + n, n);
        // the newest ARC-Message-Signature must verify; older ones may have been broken by later hops
        String amsError = verifyAms(keys, amsHash);
        if (amsError != null) return new Validation("fail", "ARC-Message-Signature i=" + n + ": " + amsError, n);
        for (int i = n; i >= 1; i--) {
            Map<String, String> t = TagList.parse(sets.get(i).seal.value());
            if (t == null || t.containsKey("h")) return new Validation("fail", "malformed ARC-Seal i=" + i, n);
            String cv = t.getOrDefault("cv", "").toLowerCase(Locale.ROOT);
            if (i == 1 ? !cv.equals("none") : !cv.equals("pass")) return new Validation("fail", "ARC-Seal i=" + i + " has cv=" + cv, n);
            String err = verifySeal(keys, i, t);
            if (err != null) return new Validation("fail", "ARC-Seal i=" + i + ": " + err, n);
        }
        return new Validation("pass", "", n);
    }

    private String verifyAms(DkimKeys.Resolver keys, byte[] bodyHash) {
        Map<String, String> t = amsTags;
        if (t == null) return "malformed";
        for (String req : new String[]{"i", "a", "b", "bh", "d", "h", "s"}) if (!t.containsKey(req)) return "no " + req + "=";
        if (List.of(t.get("h").toLowerCase(Locale.ROOT).replace(" ", "").split(":")).contains("arc-seal")) return "signs ARC-Seal";
        byte[] expected;
        try {
            expected = Base64.getDecoder().decode(t.get("bh").replace(" ", ""));
        } catch (IllegalArgumentException e) {
            return "bad bh=";
        }
        if (!MessageDigest.isEqual(expected, bodyHash)) return "body hash did not verify";
        boolean relaxed = t.getOrDefault("c", "simple").toLowerCase(Locale.ROOT).startsWith("relaxed");
        byte[] data = DkimVerifier.signedData(withoutArc(), t.get("h"), sets.lastEntry().getValue().ams, relaxed);
        return verify(keys, t, data);
    }

    /** The message's own fields: an AMS never covers ARC fields, and picking by name must not find them. */
    private List<HeaderField> withoutArc() {
        return messageHeaders.stream().filter(f -> !f.lowerName().startsWith("arc-")).toList();
    }

    /** RFC 8617 5.1.1: every ARC set up to i, ascending, AAR then AMS then AS, relaxed; the seal itself without b=. */
    private String verifySeal(DkimKeys.Resolver keys, int upTo, Map<String, String> tags) {
        Set3 last = sets.get(upTo);
        return verify(keys, tags, sealInput(upTo - 1, last.aar.raw(), last.ams.raw(), last.seal));
    }

    /** What an ARC-Seal signs: the complete sets 1..before, then the sealed set's AAR, AMS, and the seal without b=. */
    private byte[] sealInput(int before, String aar, String ams, HeaderField seal) {
        StringBuilder data = new StringBuilder();
        for (int j = 1; j <= before; j++) {
            Set3 s = sets.get(j);
            data.append(Canonical.relaxedHeader(s.aar.raw())).append(Canonical.relaxedHeader(s.ams.raw())).append(Canonical.relaxedHeader(s.seal.raw()));
        }
        data.append(Canonical.relaxedHeader(aar)).append(Canonical.relaxedHeader(ams));
        data.append(DkimVerifier.signatureWithoutB(seal, true));
        return data.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String verify(DkimKeys.Resolver keys, Map<String, String> t, byte[] data) {
        String a = t.getOrDefault("a", "").toLowerCase(Locale.ROOT);
        if (!a.equals("rsa-sha256") && !a.equals("ed25519-sha256")) return "unsupported algorithm " + a;
        DkimKeys.Lookup l = keys.txt(t.get("s") + "._domainkey." + t.get("d"));
        if (l.status() != DkimKeys.Lookup.Status.OK || l.records().isEmpty()) return "no key (" + l.status() + ")";
        DkimKeys.Published k = DkimKeys.parseRecord(l.records().get(0));
        if (k.key() == null) return k.error();
        try {
            return DkimVerifier.verifySignature(a, k.key(), data, Base64.getDecoder().decode(t.get("b").replace(" ", ""))) ? null : "signature did not verify";
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return "bad signature: " + e.getMessage();
        }
    }

    /**
     * RFC 8617 5.1: a new ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, top first) after
     * {@link #validate}. results: the body of our Authentication-Results (authserv-id and results, no field name).
     * Returns null for a failed chain: we do not extend it.
     */
    public String seal(Validation v, String results, DkimSigner.Key key, long timestamp) throws GeneralSecurityException {
        if (v.status().equals("fail") || sealBodyHash == null) return null;
        int i = v.instances() + 1;
        String alg = key.algorithm();
        String aar = "ARC-Authentication-Results: i=" + i + "; " + results.strip() + "\r\n";
        List<HeaderField> signed = withoutArc();
        String amsTemplate = "ARC-Message-Signature: i=" + i + "; a=" + alg + "; c=relaxed/relaxed; d=" + key.domain()
                + "; s=" + key.selector() + "; t=" + timestamp + ";\r\n\th=" + DkimSigner.hTag(signed)
                + ";\r\n\tbh=" + Base64.getEncoder().encodeToString(sealBodyHash) + ";\r\n\tb=";
        String ams = DkimSigner.complete(signed, amsTemplate, key.privateKey(), true);
        String sealTemplate = "ARC-Seal: i=" + i + "; a=" + alg + "; cv=" + (i == 1 ? "none" : "pass") + "; d=" + key.domain()
                + "; s=" + key.selector() + "; t=" + timestamp + ";\r\n\tb=";
        byte[] sig = DkimSigner.signature(key.privateKey(), sealInput(i - 1, aar, ams, HeaderField.parse(sealTemplate + "\r\n")));
        String seal = sealTemplate + DkimSigner.fold(Base64.getEncoder().encodeToString(sig), (char) 0) + "\r\n";
        return seal + ams + aar;
    }

}
