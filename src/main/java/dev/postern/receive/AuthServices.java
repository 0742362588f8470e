package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimKeys;
import dev.postern.policy.Counters;
import dev.postern.policy.Dmarc;
import dev.postern.policy.DmarcReports;
import dev.postern.policy.SpfResults;

/** What message authentication shares between sessions, wired once at start-up. */
public record AuthServices(Config.Auth settings, SpfResults spf, Dmarc dmarc, DkimKeys.Resolver keys,
                           DkimKeyring signing, DmarcReports reports,
                           Counters results) {

    public AuthServices(Config.Auth settings, SpfResults spf, Dmarc dmarc, DkimKeys.Resolver keys, DkimKeyring signing,
                        DmarcReports reports) {
        this(settings, spf, dmarc, keys, signing, reports, new Counters());
    }

    /** Counts one result of one method (spf, dkim, dmarc, arc, dkim-sign) for /metrics. */
    void count(String method, String result) {
        results.increment("postern_auth_results_total{method=\"" + method + "\",result=\"" + result + "\"}");
    }

    public java.util.Map<String, Long> stats() {
        return results.snapshot();
    }
}
