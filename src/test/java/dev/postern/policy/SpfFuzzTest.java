package dev.postern.policy;

import dev.postern.route.Dns;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random SPF records (seeded, bounded) never make check_host() throw or loop: every answer is one of the
 * seven results. The DNS here is an in-memory table so thousands of records run in a second.
 */
class SpfFuzzTest {
    static final String[] PIECES = {"v=spf1", " ", " ", "+", "-", "~", "?", "all", "a", "mx", "ptr", "ip4:", "ip6:", "include:",
            "exists:", "redirect=", "exp=", "x.test", "y.test", "192.0.2.1", "/24", "//64", "::1", "%{i}", "%{ir}", "%{l1r-}", "%{d4}",
            "%{h}", "%{p}", "%{z}", "%%", "%_", "%-", ":", "=", "/", ".", "%", "{", "}", "0", "999", "foo=bar", "\t"};

    @Test void randomRecordsAlwaysGiveAResult() throws Exception {
        Random random = new Random(7);
        InetAddress client = InetAddress.getByName("192.0.2.1");
        java.util.Set<Spf.Result> seen = java.util.EnumSet.noneOf(Spf.Result.class);
        for (int i = 0; i < 3000; i++) {
            String x = record(random), y = record(random);
            Dns dns = new Dns() {
                @Override public Answer<Mx> mx(String d) { return Answer.of(List.of(new Mx(10, "x.test"))); }
                @Override public Answer<InetAddress> addresses(String h) {
                    return h.startsWith("x.") || h.equals("x.test") ? Answer.of(List.of(client)) : Answer.failed(Status.NXDOMAIN, h);
                }
                @Override public Answer<String> ptr(InetAddress a) { return Answer.of(List.of("x.test")); }
                @Override public Answer<String> txt(String n) {
                    return n.equals("x.test") ? Answer.of(List.of(x)) : n.equals("y.test") ? Answer.of(List.of(y)) : Answer.failed(Status.NXDOMAIN, n);
                }
            };
            Spf.Outcome o = new Spf(dns, "mx.test").checkMailFrom(client, "user-name@x.test", "h.test");
            assertThat(o.result()).as(x + " / " + y).isNotNull();
            seen.add(o.result());
        }
        assertThat(seen).as("the records reach most outcomes").hasSizeGreaterThanOrEqualTo(5);
    }

    /** Mostly well-formed terms with random pieces mixed in, so evaluation gets past the syntax check often. */
    private static String record(Random r) {
        String[] qualifiers = {"", "", "+", "-", "~", "?"};
        String[] terms = {"all", "a", "mx", "ptr", "ip4:192.0.2.0/24", "ip4:198.51.100.1", "ip6:2001:db8::/32", "include:x.test",
                "include:y.test", "exists:%{i}.x.test", "a:%{d}", "mx:y.test/24", "redirect=y.test", "exp=x.test", "foo=bar"};
        StringBuilder sb = new StringBuilder(r.nextInt(10) == 0 ? "" : "v=spf1");
        int n = r.nextInt(6);
        for (int i = 0; i < n; i++) {
            sb.append(' ');
            if (r.nextInt(5) == 0) sb.append(PIECES[r.nextInt(PIECES.length)]).append(PIECES[r.nextInt(PIECES.length)]);
            else sb.append(qualifiers[r.nextInt(qualifiers.length)]).append(terms[r.nextInt(terms.length)]);
        }
        return sb.toString();
    }
}
