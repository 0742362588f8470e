import dev.postern.deliver.SmtpDelivery;
import dev.postern.mail.Address;
import dev.postern.mail.Nexthop;
import dev.postern.mail.Reply;
import dev.postern.route.Hop;
import dev.postern.route.RouteDecision;
import dev.postern.tls.PeerVerifier;
import dev.postern.tls.TlsLevel;
import dev.postern.tls.TlsPolicy;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Outbound session set-up, apart from connection reuse: Postern's own SMTP client (SmtpDelivery) opens
 * SESSIONS new sessions one after another — connect, greeting, EHLO, STARTTLS, handshake, certificate check
 * at the level asked, EHLO again — each to a different loopback address (127.0.x.y) of one receiver bound to
 * all of them, so that no session is reused; in each, MAIL FROM:<>, RCPT TO and RSET (a recipient probe).
 * Prints "level L sessions N p50_ms P p99_ms Q cpu_ms_per_session C" after a warm-up of the same size.
 *
 *   java -cp target/postern.jar bench/tools/SessionSetup.java --port 2601 --level verify --ca ca.pem --host mx.bench.test --rcpt u@may.test
 */
public final class SessionSetup {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new java.util.HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int port = Integer.parseInt(a.get("port"));
        int sessions = Integer.parseInt(a.getOrDefault("sessions", "500"));
        TlsLevel level = TlsLevel.parse(a.getOrDefault("level", "may"));
        String host = a.getOrDefault("host", "mx.bench.test");
        Address rcpt = Address.parse(a.get("rcpt"), false);
        PeerVerifier verifier = a.containsKey("ca") ? PeerVerifier.load(Path.of(a.get("ca"))) : null;
        SmtpDelivery.Settings s = new SmtpDelivery.Settings("out.bench.test", null, new TlsPolicy(level, Map.of()), verifier, null, null,
                null, null, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(10));
        var cpu = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (SmtpDelivery out = new SmtpDelivery(s)) {
            run(out, host, port, rcpt, sessions, 0);                 // warm-up: the JIT, the TLS stack
            long c0 = cpu.getProcessCpuTime();
            double[] ms = run(out, host, port, rcpt, sessions, sessions);
            long c1 = cpu.getProcessCpuTime();
            Arrays.sort(ms);
            System.out.printf("level %s sessions %d p50_ms %.3f p99_ms %.3f cpu_ms_per_session %.3f%n", level, sessions,
                    ms[ms.length / 2], ms[(int) (ms.length * 0.99)], (c1 - c0) / 1e6 / sessions);
        }
    }

    /** Sessions to 127.0.x.y, numbered from first, so that no address is used twice in a run. */
    private static double[] run(SmtpDelivery out, String host, int port, Address rcpt, int n, int first) throws Exception {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            int k = first + i;
            InetAddress ip = InetAddress.getByAddress(new byte[] {127, 0, (byte) (1 + k / 250), (byte) (2 + k % 250)});
            var route = new RouteDecision.Hops(new Nexthop("smtp", "bench.test", port, false), List.of(new Hop(host, ip, port)), false);
            long t0 = System.nanoTime();
            Reply r = out.probe(route, rcpt);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            if (!r.isPositive()) throw new IllegalStateException("session " + k + " to " + ip + ": " + r);
        }
        return ms;
    }
}
