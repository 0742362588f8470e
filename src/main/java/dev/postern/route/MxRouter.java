package dev.postern.route;

import dev.postern.mail.Nexthop;
import dev.postern.mail.Reply;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Routing for non-local domains (RFC 5321 section 5), first match wins: a transport override for the
 * domain (or ".parent" for its subdomains), the relayhost, or DNS — MX by preference with equal
 * preferences shuffled (5.1), implicit MX on A/AAAA when there are no MX records, null MX (RFC 7505).
 */
public final class MxRouter {
    private final Dns dns;
    /** [transport] and relayhost, replaced together by a configuration reload. */
    private record Routes(Map<String, Nexthop> transports, Nexthop relayhost) {}

    private volatile Routes routes;
    private final int smtpPort;
    private final String myHostname;
    private final Predicate<InetSocketAddress> isMyself;
    private final Random random;

    public MxRouter(Dns dns, Map<String, Nexthop> transports, Nexthop relayhost, int smtpPort, String myHostname,
                    Predicate<InetSocketAddress> isMyself, Random random) {
        this.dns = dns;
        this.routes = new Routes(transports, relayhost);
        this.smtpPort = smtpPort;
        this.myHostname = myHostname.toLowerCase(Locale.ROOT);
        this.isMyself = isMyself;
        this.random = random;
    }

    /** New [transport] entries and relayhost (a configuration reload); attempts already routed keep their route. */
    public void reroute(Map<String, Nexthop> transports, Nexthop relayhost) { routes = new Routes(transports, relayhost); }

    public RouteDecision route(String domain) {
        Routes r = routes;
        Nexthop override = transportFor(r.transports(), domain);
        if (override != null) return resolve(override, domain, false);
        if (r.relayhost() != null) return resolve(r.relayhost(), domain, true);
        return resolve(new Nexthop("smtp", domain, smtpPort, false), domain, false);
    }

    private static Nexthop transportFor(Map<String, Nexthop> transports, String domain) {
        Nexthop exact = transports.get(domain);
        if (exact != null) return exact;
        for (String d = domain; d.contains("."); ) {
            d = d.substring(d.indexOf('.') + 1);
            Nexthop parent = transports.get("." + d);
            if (parent != null) return parent;
        }
        return null;
    }

    private RouteDecision resolve(Nexthop nexthop, String domain, boolean viaRelayhost) {
        if (nexthop.isUnixSocket()) return new RouteDecision.Hops(nexthop, List.of(Hop.unixSocket(nexthop.socketPath())), viaRelayhost);
        if (nexthop.noMx()) {
            List<Hop> hops = new ArrayList<>();
            RouteDecision.Failed f = addHops(nexthop.host(), nexthop.port(), hops);
            return hops.isEmpty() ? f : new RouteDecision.Hops(nexthop, hops, viaRelayhost);
        }
        Dns.Answer<Dns.Mx> mx = dns.mx(nexthop.host());
        switch (mx.status()) {
            case NXDOMAIN -> {
                return failed(550, "5.1.2", "Host or domain name not found. Name service error for name=" + nexthop.host() + " type=MX: Host not found");
            }
            case TEMPFAIL -> {
                return failed(451, "4.4.3", "Host or domain name lookup failed temporarily for name=" + nexthop.host() + " type=MX");
            }
            case NODATA -> {
                // RFC 5321 5.1: no MX records means the domain itself is the implicit MX, preference 0
                return loopCheck(nexthop, domain, List.of(new Dns.Mx(0, nexthop.host())), viaRelayhost);
            }
            default -> { }
        }
        List<Dns.Mx> records = mx.values();
        // RFC 7505 3: a single MX of "." with preference 0 says the domain accepts no mail
        if (records.size() == 1 && (records.get(0).host().equals(".") || records.get(0).host().isEmpty())) {
            return failed(556, "5.1.10", "Domain " + nexthop.host() + " does not accept mail (null MX)");
        }
        return loopCheck(nexthop, domain, records, viaRelayhost);
    }

    private RouteDecision loopCheck(Nexthop nexthop, String domain, List<Dns.Mx> records, boolean viaRelayhost) {
        List<Dns.Mx> sorted = new ArrayList<>(records);
        Collections.shuffle(sorted, random);                          // RFC 5321 5.1: randomize equal preferences
        sorted.sort(Comparator.comparingInt(Dns.Mx::preference));     // stable: the shuffle survives within a preference
        List<Hop> hops = new ArrayList<>();
        RouteDecision.Failed lastFailure = null;
        for (Dns.Mx mx : sorted) {
            List<Hop> these = new ArrayList<>();
            RouteDecision.Failed f = addHops(mx.host(), nexthop.port(), these);
            if (f != null) lastFailure = f;
            // RFC 5321 5.1: if this host is an MX, only MX hosts with a lower preference may be used
            boolean me = mx.host().equals(myHostname) || these.stream().anyMatch(h -> isMyself.test(new InetSocketAddress(h.address(), h.port())));
            if (me) {
                if (hops.isEmpty()) {
                    return failed(554, "5.4.6", "mail for " + domain + " loops back to myself");
                }
                break;
            }
            hops.addAll(these);
        }
        if (hops.isEmpty()) {
            return lastFailure != null ? lastFailure : failed(451, "4.4.3", "no usable address for the MX hosts of " + domain);
        }
        return new RouteDecision.Hops(nexthop, hops, viaRelayhost);
    }

    /** Adds the addresses of one host; returns the failure when it has none. */
    private RouteDecision.Failed addHops(String host, int port, List<Hop> out) {
        InetAddress literal = literal(host);
        if (literal != null) {
            out.add(new Hop(host, literal, port));
            return null;
        }
        Dns.Answer<InetAddress> a = dns.addresses(host);
        if (a.status() == Dns.Status.OK) {
            for (InetAddress addr : a.values()) out.add(new Hop(host, addr, port));
            return null;
        }
        if (a.status() == Dns.Status.TEMPFAIL) return failed(451, "4.4.3", "Host or domain name lookup failed temporarily for name=" + host);
        return failed(550, "5.1.2", "Host or domain name not found. Name service error for name=" + host + " type=A: Host not found");
    }

    private static final java.util.regex.Pattern LITERAL = java.util.regex.Pattern.compile("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*");

    private static InetAddress literal(String host) {
        if (!LITERAL.matcher(host).matches()) return null;
        try {
            return InetAddress.getByName(host);
        } catch (Exception e) {
            return null;
        }
    }

    private static RouteDecision.Failed failed(int code, String enhanced, String text) {
        return new RouteDecision.Failed(Reply.of(code, enhanced, text));
    }
}
