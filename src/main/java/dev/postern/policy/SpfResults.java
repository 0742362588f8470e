package dev.postern.policy;

import java.net.InetAddress;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SPF results of recent transactions, so a check at RCPT and the Authentication-Results at end of DATA
 * ask the DNS once. Bounded (10,000 entries, least recently used go first) and short-lived (5 minutes).
 */
public final class SpfResults {
    private static final int MAX_ENTRIES = 10_000;
    private static final long TTL_MILLIS = 5 * 60_000;
    /** A temporary error is kept briefly: long enough that one transaction waits on a silent DNS once, not for minutes. */
    private static final long TEMPERROR_TTL_MILLIS = 30_000;

    private record Entry(Spf.Outcome outcome, long at) {}

    private final Spf spf;
    private final Clock clock;
    private final Map<String, Entry> recent = new LinkedHashMap<>(256, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, Entry> e) { return size() > MAX_ENTRIES; }
    };

    public SpfResults(Spf spf, Clock clock) {
        this.spf = spf;
        this.clock = clock;
    }

    /** The MAIL FROM result (the HELO identity for the null sender). */
    public Spf.Outcome mailFrom(InetAddress ip, String sender, String helo) {
        String key = ip.getHostAddress() + "|" + sender + "|" + helo;
        long now = clock.millis();
        synchronized (recent) {
            Entry e = recent.get(key);
            if (e != null && now - e.at() < (e.outcome().result() == Spf.Result.TEMPERROR ? TEMPERROR_TTL_MILLIS : TTL_MILLIS)) return e.outcome();
        }
        Spf.Outcome o = spf.checkMailFrom(ip, sender, helo);
        synchronized (recent) {
            recent.put(key, new Entry(o, now));
        }
        return o;
    }

    /** reject_spf_fail: 550 5.7.23 (RFC 7372) when the sender's domain says this client may not send for it. */
    public Check rejectFail() {
        return new Checks.Simple("reject_spf_fail", f -> {
            if (f.sender() == null && !f.nullSender()) return Verdict.CONTINUE;
            Spf.Outcome o = mailFrom(f.client(), f.sender() == null ? null : f.sender().toString(), f.helo());
            if (o.result() != Spf.Result.FAIL) return Verdict.CONTINUE;
            return new Verdict.Reject("reject_spf_fail", dev.postern.mail.Reply.of(550, "5.7.23",
                    "SPF validation failed: " + o.domain() + " does not allow " + f.client().getHostAddress() + " to send its mail"
                            + (o.reason().isEmpty() ? "" : " (" + o.reason() + ")")));
        }, true);
    }
}
