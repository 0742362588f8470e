package dev.postern.tls;

import dev.postern.mail.Reply;
import dev.postern.route.Hop;
import dev.postern.route.RouteDecision;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DANE for one delivery (RFC 7672 2.2): which hops may be used and, per MX host, what its TLSA records ask.
 * For mail routed by the domain's MX records DANE needs a DNSSEC-secure MX RRset, and only the hosts it names
 * are used; an insecure MX RRset means no DANE ("dane" delivers as "may", "dane-only" defers).
 *
 * @param refusal  non-null when nothing may be tried (a bogus MX answer, no secure MX under dane-only)
 * @param route    the route with only the hops DANE allows
 * @param hosts    per MX host name, its TLSA verdict (empty when DANE does not apply)
 */
public record DanePlan(TlsLevel level, Reply refusal, RouteDecision.Hops route, Map<String, Dane.Host> hosts) {

    /** Whether secure TLSA records govern at least one host, so that DANE takes precedence over MTA-STS (RFC 8461 2). */
    public boolean governs() {
        return hosts.values().stream().anyMatch(h -> h.state() == Dane.State.AUTHENTICATE || h.state() == Dane.State.ENCRYPT);
    }

    public Dane.Host host(Hop hop) { return hosts.get(hop.host()); }

    /** Why this hop may not be used under DANE, or null. */
    public Reply refusal(Hop hop) {
        Dane.Host h = host(hop);
        if (h == null) return level == TlsLevel.DANE_ONLY ? Reply.of(451, "4.7.5", "dane-only: no DANE for " + hop) : null;
        return switch (h.state()) {
            case AUTHENTICATE -> null;
            case ENCRYPT, NONE -> level == TlsLevel.DANE_ONLY ? Reply.of(451, "4.7.5", "dane-only: " + h.detail()) : null;
            // RFC 7672 2.1.1: a host whose TLSA (or address) records fail validation is not used
            case BOGUS -> Reply.of(451, "4.7.5", "DANE: " + h.detail());
            case TEMPFAIL -> Reply.of(451, "4.4.3", "DANE: TLSA lookup failed: " + h.detail());
        };
    }

    /** Whether this hop's identity is proven by its TLSA records. */
    public boolean authenticates(Hop hop) {
        Dane.Host h = host(hop);
        return h != null && h.state() == Dane.State.AUTHENTICATE;
    }

    /** The plan for a route whose destination has level dane or dane-only. */
    public static DanePlan of(Dane dane, RouteDecision.Hops route, String domain, TlsLevel level) {
        RouteDecision.Hops hops = route;
        boolean byMx = !route.viaRelayhost() && !route.nexthop().noMx() && route.nexthop().host().equals(domain);
        if (byMx) {
            Dane.Mx mx = dane.mx(domain);
            switch (mx.security()) {
                case BOGUS:
                    return refused(level, route, Reply.of(451, "4.7.5", "DANE: MX records of " + domain + " failed DNSSEC validation: " + mx.detail()));
                case TEMPFAIL:
                    return refused(level, route, Reply.of(451, "4.4.3", "DANE: cannot look up the MX records of " + domain + ": " + mx.detail()));
                case INSECURE:
                    if (level == TlsLevel.DANE_ONLY) {
                        return refused(level, route, Reply.of(451, "4.7.5", "dane-only: the MX records of " + domain + " are not DNSSEC-signed"));
                    }
                    return new DanePlan(level, null, route, Map.of());
                default:
                    break;
            }
            // only hosts named by the validated MX RRset: an unsigned answer that named others proves nothing
            List<Hop> named = route.hops().stream().filter(h -> mx.hosts().contains(h.host())).toList();
            if (named.isEmpty()) {
                return refused(level, route, Reply.of(451, "4.7.5", "DANE: none of " + route.hops().stream().map(Hop::host).distinct().toList()
                        + " is named by the DNSSEC-validated MX records of " + domain + " " + mx.hosts()));
            }
            hops = new RouteDecision.Hops(route.nexthop(), named, route.viaRelayhost());
        }
        Map<String, Dane.Host> hosts = new LinkedHashMap<>();
        for (Hop h : hops.hops()) {
            if (!h.isUnixSocket()) hosts.computeIfAbsent(h.host(), name -> dane.host(name, h.port()));
        }
        return new DanePlan(level, null, hops, hosts);
    }

    private static DanePlan refused(TlsLevel level, RouteDecision.Hops route, Reply why) {
        return new DanePlan(level, why, route, Map.of());
    }
}
