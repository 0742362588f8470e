package dev.postern.tls;

import java.util.Map;

/**
 * The TLS level per destination domain: a [tls_policy] entry for the domain (or ".parent" for its
 * subdomains, as [transport] does), else the default ([delivery] tls).
 */
public record TlsPolicy(TlsLevel defaultLevel, Map<String, TlsLevel> perDomain) {
    public static final TlsPolicy MAY = new TlsPolicy(TlsLevel.MAY, Map.of());

    public TlsLevel levelFor(String domain) {
        TlsLevel set = explicitFor(domain);
        return set != null ? set : defaultLevel;
    }

    /** The [tls_policy] entry that applies, or null: an explicit local choice, which MTA-STS does not override. */
    public TlsLevel explicitFor(String domain) {
        TlsLevel exact = perDomain.get(domain);
        if (exact != null) return exact;
        for (String d = domain; d.contains("."); ) {
            d = d.substring(d.indexOf('.') + 1);
            TlsLevel parent = perDomain.get("." + d);
            if (parent != null) return parent;
        }
        return null;
    }
}
