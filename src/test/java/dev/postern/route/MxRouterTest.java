package dev.postern.route;

import dev.postern.mail.Nexthop;
import dev.postern.testing.TestDnsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** MX routing against a real DNS server on loopback. */
class MxRouterTest {
    static TestDnsServer dns;
    static Dns resolver;

    @BeforeAll static void start() throws Exception {
        dns = new TestDnsServer().zone(
                "pref.test. IN MX 20 mx20.pref.test.",
                "pref.test. IN MX 10 mx10a.pref.test.",
                "pref.test. IN MX 10 mx10b.pref.test.",
                "mx10a.pref.test. IN A 127.0.0.11",
                "mx10b.pref.test. IN A 127.0.0.12",
                "mx20.pref.test. IN A 127.0.0.20",
                "alias.test. IN CNAME alias2.test.",
                "alias2.test. IN CNAME real.test.",
                "real.test. IN MX 5 mx.real.test.",
                "mx.real.test. IN CNAME host.real.test.",
                "host.real.test. IN A 127.0.0.30",
                "implicit.test. IN A 127.0.0.40",
                "implicit.test. IN TXT \"no mx here\"",
                "nullmx.test. IN MX 0 .",
                "nowhere.test. IN TXT \"exists, no MX, no A\"",
                "broken.test. IN MX 10 mx.servfail.test.",
                "loop.test. IN MX 10 me.loop.test.",
                "me.loop.test. IN A 127.0.0.99",
                "backup.test. IN MX 10 primary.backup.test.",
                "backup.test. IN MX 20 me.loop.test.",
                "backup.test. IN MX 30 tertiary.backup.test.",
                "primary.backup.test. IN A 127.0.0.50",
                "tertiary.backup.test. IN A 127.0.0.51",
                "named.test. IN MX 10 mx.example.test.")
                .servfail("servfail.test").servfail("mx.servfail.test");
        resolver = new DnsjavaDns(List.of(dns.address()), Duration.ofSeconds(2));
    }

    @AfterAll static void stop() { dns.close(); }

    static MxRouter router(Map<String, Nexthop> transports, Nexthop relayhost, long seed) {
        return new MxRouter(resolver, transports, relayhost, 25, "mx.example.test",
                a -> a.equals(new InetSocketAddress("127.0.0.99", 25)), new Random(seed));
    }

    static List<String> addresses(RouteDecision d) {
        assertThat(d).as(d.toString()).isInstanceOf(RouteDecision.Hops.class);
        return ((RouteDecision.Hops) d).hops().stream().map(h -> h.address().getHostAddress()).toList();
    }

    static String failure(RouteDecision d) {
        assertThat(d).as(d.toString()).isInstanceOf(RouteDecision.Failed.class);
        return ((RouteDecision.Failed) d).reply().toString();
    }

    @Test void mxByPreferenceWithEqualOnesShuffled() {
        Set<List<String>> orders = new HashSet<>();
        for (long seed = 0; seed < 20; seed++) {
            List<String> a = addresses(router(Map.of(), null, seed).route("pref.test"));
            assertThat(a).hasSize(3);
            assertThat(a.get(2)).isEqualTo("127.0.0.20");
            orders.add(a.subList(0, 2));
        }
        assertThat(orders).containsExactlyInAnyOrder(List.of("127.0.0.11", "127.0.0.12"), List.of("127.0.0.12", "127.0.0.11"));
    }

    @Test void cnameChainsAreFollowed() {
        assertThat(addresses(router(Map.of(), null, 1).route("alias.test"))).containsExactly("127.0.0.30");
    }

    @Test void implicitMxUsesTheDomainsAddress() {
        assertThat(addresses(router(Map.of(), null, 1).route("implicit.test"))).containsExactly("127.0.0.40");
    }

    @Test void failures() {
        MxRouter r = router(Map.of(), null, 1);
        assertThat(failure(r.route("nullmx.test"))).startsWith("556 5.1.10");
        assertThat(failure(r.route("nxdomain.test"))).startsWith("550 5.1.2");
        assertThat(failure(r.route("nowhere.test"))).startsWith("550 5.1.2");
        assertThat(failure(r.route("servfail.test"))).startsWith("451 4.4.3");
        assertThat(failure(r.route("broken.test"))).startsWith("451 4.4.3");
    }

    @Test void mxPointingAtMyselfIsALoop() {
        MxRouter r = router(Map.of(), null, 1);
        assertThat(failure(r.route("loop.test"))).startsWith("554 5.4.6");
        assertThat(failure(r.route("named.test"))).startsWith("554 5.4.6"); // our own host name as MX
        // as a backup MX we only use the MX hosts preferred over us
        assertThat(addresses(r.route("backup.test"))).containsExactly("127.0.0.50");
    }

    @Test void transportOverridesAndRelayhostComeFirst() {
        Map<String, Nexthop> t = Map.of("pref.test", Nexthop.parse("smtp:[127.0.0.77]:2525", 25),
                ".real.test", Nexthop.parse("smtp:[host.real.test]", 25));
        MxRouter r = router(t, Nexthop.parse("[127.0.0.88]:587", 25), 1);
        RouteDecision.Hops viaTransport = (RouteDecision.Hops) r.route("pref.test");
        assertThat(viaTransport.hops()).singleElement().hasToString("127.0.0.77[127.0.0.77]:2525");
        assertThat(viaTransport.viaRelayhost()).isFalse();
        assertThat(addresses(r.route("sub.real.test"))).containsExactly("127.0.0.30");
        RouteDecision.Hops viaRelay = (RouteDecision.Hops) r.route("implicit.test");
        assertThat(viaRelay.viaRelayhost()).isTrue();
        assertThat(viaRelay.hops()).singleElement().hasToString("127.0.0.88[127.0.0.88]:587");
    }

    @Test void nexthopNotation() {
        assertThat(Nexthop.parse("[smtp.provider.test]:587", 25)).isEqualTo(new Nexthop("smtp", "smtp.provider.test", 587, true));
        assertThat(Nexthop.parse("lmtp:127.0.0.1:24", 25)).isEqualTo(new Nexthop("lmtp", "127.0.0.1", 24, true));
        assertThat(Nexthop.parse("example.org", 2525)).isEqualTo(new Nexthop("smtp", "example.org", 2525, false));
        assertThat(Nexthop.parse("smtp:[bad host]:25", 25)).isNull();
        assertThat(Nexthop.parse("[x.test]:99999", 25)).isNull();
    }
}
