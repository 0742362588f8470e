package dev.postern.policy;

import com.google.common.net.InternetDomainName;
import dev.postern.route.Dns;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * DMARC (RFC 7489) for one message: the policy record of the From domain or its organizational domain
 * (Public Suffix List via Guava), SPF and DKIM identifier alignment (relaxed or strict), p/sp/pct.
 * Adopted from DMARCbis: np= for non-existent subdomains.
 */
public final class Dmarc {

    public enum Result { NONE, PASS, FAIL, TEMPERROR, PERMERROR }

    public enum Disposition { NONE, QUARANTINE, REJECT }

    /** What was found and decided; policy is the published p (or sp/np) before pct sampling, disposition after. */
    public record Evaluation(Result result, String fromDomain, String policyDomain, Disposition policy, Disposition disposition,
                             boolean spfAligned, boolean dkimAligned, Map<String, String> record, String reason) {}

    private final Dns dns;
    private final IntSupplier percent; // 0..99, for pct sampling; injectable so tests decide

    public Dmarc(Dns dns, IntSupplier percent) {
        this.dns = dns;
        this.percent = percent;
    }

    /**
     * fromDomain: the RFC 5322.From domain; spfDomain: the domain SPF passed for (MAIL FROM, or HELO for the null
     * sender), null unless SPF passed; dkimDomains: d= of the signatures that passed.
     */
    public Evaluation evaluate(String fromDomain, String spfDomain, List<String> dkimDomains) {
        String from = fromDomain.toLowerCase(Locale.ROOT);
        String org = organizationalDomain(from);
        String policyDomain = from;
        Lookup l = lookup(from);
        if (l.result == Result.NONE && !org.equals(from)) {
            policyDomain = org;
            l = lookup(org);
        }
        if (l.result != Result.PASS) return new Evaluation(l.result, from, policyDomain, Disposition.NONE, Disposition.NONE, false, false, Map.of(), l.reason);
        Map<String, String> tags = l.tags;
        Disposition p = disposition(tags.get("p"));
        if (p == null) {
            // RFC 7489 6.6.3: an invalid p= with rua is read as p=none; without rua the record is unusable
            if (!tags.containsKey("rua")) return new Evaluation(Result.NONE, from, policyDomain, Disposition.NONE, Disposition.NONE, false, false, tags, "record without a valid p=");
            p = Disposition.NONE;
        }
        Disposition requested = p;
        if (!policyDomain.equals(from)) {
            Disposition sp = disposition(tags.get("sp"));
            if (sp != null) requested = sp;
            Disposition np = disposition(tags.get("np"));
            if (np != null && !exists(from)) requested = np;
        }
        boolean strictSpf = "s".equals(tags.get("aspf"));
        boolean strictDkim = "s".equals(tags.get("adkim"));
        boolean spfAligned = spfDomain != null && aligned(spfDomain, from, strictSpf);
        boolean dkimAligned = dkimDomains.stream().anyMatch(d -> aligned(d, from, strictDkim));
        if (spfAligned || dkimAligned) {
            return new Evaluation(Result.PASS, from, policyDomain, requested, Disposition.NONE, spfAligned, dkimAligned, tags, "");
        }
        Disposition applied = requested;
        int pct = parsePct(tags.get("pct"));
        // RFC 7489 6.6.4: messages outside the sample get the next weaker policy
        if (pct < 100 && percent.getAsInt() >= pct) applied = applied == Disposition.REJECT ? Disposition.QUARANTINE : Disposition.NONE;
        return new Evaluation(Result.FAIL, from, policyDomain, requested, applied, false, false, tags, "neither SPF nor DKIM aligned with " + from);
    }

    private record Lookup(Result result, Map<String, String> tags, String reason) {}

    private Lookup lookup(String domain) {
        Dns.Answer<String> a = dns.txt("_dmarc." + domain);
        if (a.status() == Dns.Status.TEMPFAIL) return new Lookup(Result.TEMPERROR, Map.of(), "DNS failure for _dmarc." + domain);
        List<String> records = new ArrayList<>();
        for (String t : a.values()) if (t.replace(" ", "").toUpperCase(Locale.ROOT).startsWith("V=DMARC1;") || t.strip().equalsIgnoreCase("v=DMARC1")) records.add(t);
        // RFC 7489 6.6.3: more than one record means no policy
        if (records.size() != 1) return new Lookup(Result.NONE, Map.of(), records.isEmpty() ? "no DMARC record" : "several DMARC records");
        Map<String, String> tags = new LinkedHashMap<>();
        for (String part : records.get(0).split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0) tags.putIfAbsent(part.substring(0, eq).strip().toLowerCase(Locale.ROOT), part.substring(eq + 1).strip());
        }
        return new Lookup(Result.PASS, tags, "");
    }

    private boolean exists(String domain) {
        Dns.Answer<java.net.InetAddress> a = dns.addresses(domain);
        if (a.status() != Dns.Status.NXDOMAIN) return true;
        return dns.mx(domain).status() != Dns.Status.NXDOMAIN;
    }

    private static Disposition disposition(String v) {
        if (v == null) return null;
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "none" -> Disposition.NONE;
            case "quarantine" -> Disposition.QUARANTINE;
            case "reject" -> Disposition.REJECT;
            default -> null;
        };
    }

    private static int parsePct(String v) {
        if (v == null) return 100;
        try {
            return Math.max(0, Math.min(100, Integer.parseInt(v.strip())));
        } catch (NumberFormatException e) {
            return 100;
        }
    }

    /** RFC 7489 3.1: strict is equality; relaxed is the same organizational domain. */
    static boolean aligned(String a, String b, boolean strict) {
        a = a.toLowerCase(Locale.ROOT);
        b = b.toLowerCase(Locale.ROOT);
        if (a.equals(b)) return true;
        return !strict && organizationalDomain(a).equals(organizationalDomain(b));
    }

    /**
     * RFC 7489 3.2: the registered domain under the longest public suffix. A name under no listed suffix
     * (e.g. "example.test") takes the last label as its suffix, the PSL's default "*" rule.
     */
    public static String organizationalDomain(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) d = d.substring(0, d.length() - 1);
        try {
            InternetDomainName n = InternetDomainName.from(d);
            if (n.isUnderPublicSuffix()) return n.topPrivateDomain().toString();
            if (n.isPublicSuffix()) return d;
        } catch (IllegalArgumentException | IllegalStateException e) {
            // not a name Guava parses: fall back to the default rule
        }
        String[] labels = d.split("\\.");
        return labels.length <= 2 ? d : labels[labels.length - 2] + "." + labels[labels.length - 1];
    }
}
