package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimKeys;
import dev.postern.policy.Dmarc;
import dev.postern.policy.DmarcReports;
import dev.postern.policy.SpfResults;

/** What message authentication shares between sessions, wired once at start-up. */
public record AuthServices(Config.Auth settings, SpfResults spf, Dmarc dmarc, DkimKeys.Resolver keys,
                           DkimKeyring signing, DmarcReports reports,
                           java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.LongAdder> results) {

    public AuthServices(Config.Auth settings, SpfResults spf, Dmarc dmarc, DkimKeys.Resolver keys, DkimKeyring signing,
                        DmarcReports reports) {
        this(settings, spf, dmarc, keys, signing, reports, new java.util.concurrent.ConcurrentHashMap<>());
    }

    /** Counts one result of one method (spf, dkim, dmarc, arc, dkim-sign) for /metrics. */
    void count(String method, String result) {
        results.computeIfAbsent("postern_auth_results_total{method=\"" + method + "\",result=\"" + result + "\"}",
                k -> new java.util.concurrent.atomic.LongAdder()).increment();
    }

    public java.util.Map<String, Long> stats() {
        java.util.Map<String, Long> out = new java.util.HashMap<>();
        results.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
