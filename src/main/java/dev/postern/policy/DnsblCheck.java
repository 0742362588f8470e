package dev.postern.policy;

import dev.postern.mail.Reply;
import dev.postern.route.Dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DNS blocklists, postscreen style: each zone listing the client adds its weight; at or above the
 * threshold the client is refused with 554 5.7.1 naming the lists. An answer in 127.255.255.0/24 is
 * the list refusing the query (Spamhaus return codes), never a listing.
 */
public final class DnsblCheck implements Check {
    private final Dns dns;
    private final Map<String, Integer> zones;
    private final int threshold;

    public DnsblCheck(Dns dns, Map<String, Integer> zones, int threshold) {
        this.dns = dns;
        this.zones = zones;
        this.threshold = threshold;
    }

    @Override public String name() { return "check_dnsbl"; }

    @Override public boolean blocking() { return true; }

    @Override public Verdict check(Facts f) {
        String reversed = reverse(f.client());
        if (reversed == null) return Verdict.CONTINUE;
        int score = 0;
        List<String> hits = new ArrayList<>();
        for (var z : zones.entrySet()) {
            Dns.Answer<InetAddress> a = dns.addresses(reversed + "." + z.getKey());
            boolean listed = a.status() == Dns.Status.OK && a.values().stream().anyMatch(DnsblCheck::isListingCode);
            if (listed) {
                score += z.getValue();
                hits.add(z.getKey());
            }
        }
        if (score < threshold) return Verdict.CONTINUE;
        return new Verdict.Reject(name(), Reply.of(554, "5.7.1", "Service unavailable; Client host [" + f.client().getHostAddress()
                + "] blocked using " + String.join(", ", hits)));
    }

    /** 127.0.0.2-127.255.255.254 lists; 127.255.255.x means "query refused"; anything outside 127/8 is an error. */
    static boolean isListingCode(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length != 4 || (b[0] & 0xff) != 127) return false;
        return !((b[1] & 0xff) == 255 && (b[2] & 0xff) == 255);
    }

    /** 192.0.2.1 → 1.2.0.192; IPv6 nibbles reversed. */
    static String reverse(InetAddress a) {
        byte[] b = a.getAddress();
        StringBuilder sb = new StringBuilder();
        if (a instanceof Inet4Address) {
            for (int i = 3; i >= 0; i--) sb.append(b[i] & 0xff).append(i > 0 ? "." : "");
            return sb.toString();
        }
        for (int i = b.length - 1; i >= 0; i--) {
            sb.append(Integer.toHexString(b[i] & 0xf)).append('.').append(Integer.toHexString((b[i] >> 4) & 0xf));
            if (i > 0) sb.append('.');
        }
        return sb.toString();
    }
}
