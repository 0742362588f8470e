package dev.postern.filter;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The Sender Rewriting Scheme as libsrs2 and postsrsd write it, so that either side can reverse the other's
 * addresses given the same secret: SRS0=HASH=TT=orig.domain=orig-local@our.domain for a sender seen first
 * here, SRS1=HASH=first.forwarder==HASH=TT=orig.domain=orig-local@our.domain for one already rewritten by
 * another forwarder. HASH is the first 4 characters of base64(HMAC-SHA1(secret, lower-cased fields)); TT is
 * the day number modulo 1024 in base32; addresses older than maxAgeDays are refused.
 */
public final class Srs {
    private static final String BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private static final int HASH_LENGTH = 4;
    private static final long DAY_SECONDS = 86_400;
    private static final int TIME_SLOTS = 1024;

    /** The outcome of reversing: the original address, or why there is none. */
    public sealed interface Reversed {
        record Address(String address) implements Reversed {}
        record NotSrs() implements Reversed {}
        record Invalid(String why) implements Reversed {}
    }

    private final List<byte[]> secrets;
    private final String domain;
    private final Set<String> excluded;
    private final int maxAgeDays;
    private final Clock clock;
    private final java.util.concurrent.atomic.AtomicLong forwarded = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong reversed = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param secrets  postsrsd's secret file lines: the first signs, every one is accepted when reversing
     * @param excluded sender domains never rewritten (besides our own SRS domain)
     */
    public Srs(List<String> secrets, String domain, Set<String> excluded, int maxAgeDays, Clock clock) {
        if (secrets.isEmpty()) throw new IllegalArgumentException("no SRS secret");
        this.secrets = secrets.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
        this.domain = domain.toLowerCase(Locale.ROOT);
        this.excluded = excluded.stream().map(d -> d.toLowerCase(Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
        this.maxAgeDays = maxAgeDays;
        this.clock = clock;
    }

    public String domain() { return domain; }

    /** Counts for the metrics endpoint: senders rewritten, SRS addresses reversed, and refused (forged or expired). */
    public java.util.Map<String, Long> stats() {
        return java.util.Map.of("postern_srs_forwarded_total", forwarded.get(), "postern_srs_reversed_total", reversed.get(),
                "postern_srs_refused_total", refused.get());
    }

    /** {@link #forward(String, String)}, counted: for mail that leaves. */
    public String forwardCounted(String local, String senderDomain) {
        String a = forward(local, senderDomain);
        if (a != null) forwarded.incrementAndGet();
        return a;
    }

    /** {@link #reverse(String, String)}, counted: for RCPT. */
    public Reversed reverseCounted(String local, String rcptDomain) {
        Reversed r = reverse(local, rcptDomain);
        if (r instanceof Reversed.Address) reversed.incrementAndGet();
        else if (r instanceof Reversed.Invalid) refused.incrementAndGet();
        return r;
    }

    /** The rewritten sender for a forwarded message, or null when this sender is not rewritten (ours, or excluded). */
    public String forward(String local, String senderDomain) {
        String d = senderDomain.toLowerCase(Locale.ROOT);
        if (d.equals(domain) || excluded.contains(d)) return null;
        String upper = local.toUpperCase(Locale.ROOT);
        if (upper.startsWith("SRS0") && local.length() > 4 && isSeparator(local.charAt(4))) {
            // already rewritten once: keep the first forwarder's address inside ours
            String srsUser = local.substring(4);
            return "SRS1=" + hash(senderDomain, srsUser) + "=" + senderDomain + "=" + srsUser + "@" + domain;
        }
        if (upper.startsWith("SRS1") && local.length() > 4 && isSeparator(local.charAt(4))) {
            String[] p = local.substring(5).split("=", 3); // HASH, first forwarder, rest (starting with a separator)
            if (p.length == 3) return "SRS1=" + hash(p[1], p[2]) + "=" + p[1] + "=" + p[2] + "@" + domain;
        }
        String stamp = stamp(clock.instant().getEpochSecond());
        return "SRS0=" + hash(stamp, senderDomain, local) + "=" + stamp + "=" + senderDomain + "=" + local + "@" + domain;
    }

    /** The original address behind an SRS address of our domain; NotSrs for any other address. */
    public Reversed reverse(String local, String rcptDomain) {
        if (!rcptDomain.equalsIgnoreCase(domain) || local.length() < 5 || !isSeparator(local.charAt(4))) return new Reversed.NotSrs();
        String tag = local.substring(0, 4).toUpperCase(Locale.ROOT);
        String rest = local.substring(5);
        if (tag.equals("SRS0")) {
            String[] p = rest.split("=", 4); // HASH, TT, domain, local
            if (p.length != 4 || p[2].isEmpty() || p[3].isEmpty()) return new Reversed.Invalid("malformed SRS0 address");
            if (!hashMatches(p[0], p[1], p[2], p[3])) return new Reversed.Invalid("SRS hash does not match");
            if (!fresh(p[1])) return new Reversed.Invalid("SRS address expired");
            return new Reversed.Address(p[3] + "@" + p[2]);
        }
        if (tag.equals("SRS1")) {
            String[] p = rest.split("=", 3); // HASH, first forwarder, user part of its SRS0 (starting with a separator)
            if (p.length != 3 || p[1].isEmpty() || p[2].isEmpty()) return new Reversed.Invalid("malformed SRS1 address");
            if (!hashMatches(p[0], p[1], p[2])) return new Reversed.Invalid("SRS hash does not match");
            return new Reversed.Address("SRS0" + p[2] + "@" + p[1]);
        }
        return new Reversed.NotSrs();
    }

    private static boolean isSeparator(char c) { return c == '=' || c == '+' || c == '-'; }

    /** The day number modulo 1024 in two base32 characters. */
    static String stamp(long epochSeconds) {
        long day = (epochSeconds / DAY_SECONDS) % TIME_SLOTS;
        return "" + BASE32.charAt((int) ((day >> 5) & 31)) + BASE32.charAt((int) (day & 31));
    }

    private boolean fresh(String stamp) {
        if (stamp.length() != 2) return false;
        int hi = BASE32.indexOf(Character.toUpperCase(stamp.charAt(0))), lo = BASE32.indexOf(Character.toUpperCase(stamp.charAt(1)));
        if (hi < 0 || lo < 0) return false;
        long then = (hi << 5) | lo;
        long now = (clock.instant().getEpochSecond() / DAY_SECONDS) % TIME_SLOTS;
        if (then > now) then -= TIME_SLOTS;
        return now - then <= maxAgeDays;
    }

    private String hash(String... fields) { return hash(secrets.get(0), fields); }

    private static String hash(byte[] secret, String... fields) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(secret, "HmacSHA1"));
            for (String f : fields) mac.update(f.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(mac.doFinal()).substring(0, HASH_LENGTH);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Any of the secrets; the case of the hash is not trusted, as some MTAs lower-case local parts. */
    private boolean hashMatches(String given, String... fields) {
        if (given.length() < HASH_LENGTH) return false;
        for (byte[] s : secrets) {
            if (hash(s, fields).equalsIgnoreCase(given.substring(0, HASH_LENGTH))) return true;
        }
        return false;
    }
}
