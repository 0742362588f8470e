package dev.postern.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The DNS names a server certificate is for, and RFC 6125 matching of a reference name against them. */
public final class CertificateNames {
    private static final Pattern CN = Pattern.compile("(?:^|,)\\s*CN=([^,]+)");

    private CertificateNames() {}

    /** subjectAltName dNSName entries; the subject's CN only when there are none (RFC 6125 6.4.4). */
    public static List<String> of(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alt = cert.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> entry : alt) {
                    if (entry.size() >= 2 && Integer.valueOf(2).equals(entry.get(0))) names.add(String.valueOf(entry.get(1)).toLowerCase(Locale.ROOT));
                }
            }
        } catch (CertificateParsingException e) {
            return names;
        }
        if (names.isEmpty()) {
            Matcher m = CN.matcher(cert.getSubjectX500Principal().getName());
            if (m.find()) names.add(m.group(1).trim().toLowerCase(Locale.ROOT));
        }
        return names;
    }

    /**
     * RFC 6125 6.4.3: a presented name matches a reference name exactly (case-insensitively, without a
     * trailing dot), or its wildcard "*." stands for exactly one whole left-most label.
     */
    public static boolean matches(String presented, String reference) {
        String p = strip(presented), r = strip(reference);
        if (p.equals(r)) return true;
        if (!p.startsWith("*.")) return false;
        int dot = r.indexOf('.');
        return dot > 0 && r.substring(dot + 1).equals(p.substring(2)) && p.substring(2).contains(".");
    }

    /** Whether any name of the certificate matches one of the references ("." prefix: any subdomain of it). */
    public static boolean matchesAny(X509Certificate cert, List<String> references) {
        for (String name : of(cert)) {
            for (String ref : references) {
                if (ref.startsWith(".")) {
                    // Postfix's dot-nexthop: any name under the domain, a wildcard one ("*.example.com") included
                    if (strip(name).endsWith(strip(ref))) return true;
                } else if (matches(name, ref)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String strip(String s) {
        String l = s.toLowerCase(Locale.ROOT);
        return l.endsWith(".") ? l.substring(0, l.length() - 1) : l;
    }
}
