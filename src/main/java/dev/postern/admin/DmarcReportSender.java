package dev.postern.admin;

import dev.postern.policy.DmarcReports;

import dev.postern.config.Config;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.policy.DmarcAggregate;
import dev.postern.policy.DmarcReportMail;
import dev.postern.queue.Queue;
import dev.postern.route.Dns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/** Queues one day's DMARC aggregate reports to the rua addresses that may have them (POST /dmarc/send). */
final class DmarcReportSender {
    private final Config config;
    private final Dns dns;
    private final Queue queue;
    private final Clock clock;
    private final DmarcReports rows;

    DmarcReportSender(Config config, Dns dns, Queue queue, Clock clock) {
        this(config, dns, queue, clock, new DmarcReports(config.dmarcDir(), clock));
    }

    /** The recorded rows the reports are made from (also summarized in the console). */
    DmarcReports rows() { return rows; }

    DmarcReportSender(Config config, Dns dns, Queue queue, Clock clock, DmarcReports rows) {
        this.config = config;
        this.dns = dns;
        this.queue = queue;
        this.clock = clock;
        this.rows = rows;
    }

    /**
     * With [auth] dmarc_reports_send: mails yesterday's reports once (a marker file in data_dir/dmarc/sent
     * remembers it across restarts). Run every few minutes; after midnight UTC the day is complete.
     */
    void sendYesterdayOnce() {
        LocalDate day = LocalDate.ofInstant(clock.instant(), java.time.ZoneOffset.UTC).minusDays(1);
        if (rows.shared() != null) {
            sendOnceInCluster(day);
            return;
        }
        Path marker = config.dmarcDir().resolve("sent").resolve(day.toString());
        if (Files.exists(marker) || !Files.exists(config.dmarcDir().resolve(day + ".jsonl"))) return;
        try {
            for (String line : send(day)) log.info("dmarc report {}: {}", day, line);
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, clock.instant() + "\n");
        } catch (IOException | RuntimeException e) {
            log.warn("cannot send the DMARC reports of {}: {}", day, e.toString());
        }
    }

    /** In a cluster the rows are every node's, and the first node to claim the day sends; the others never do. */
    private void sendOnceInCluster(LocalDate day) {
        var shared = rows.shared();
        try {
            if (rows.rows(day) == null || !shared.claimDmarcDay(day, config.cluster().nodeName())) return;
        } catch (IOException | RuntimeException e) {
            log.warn("cannot look at the DMARC reports of {}: {}", day, e.toString());
            return;
        }
        try {
            for (String line : send(day)) log.info("dmarc report {}: {}", day, line);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot send the DMARC reports of {}: {}", day, e.toString());
            try {
                shared.releaseDmarcDay(day); // a later tick, here or on another node, tries again
            } catch (RuntimeException again) {
                log.warn("cannot give back the DMARC reports of {}: {}", day, again.toString());
            }
        }
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("postern.dmarc");

    /** One line per report and recipient: "queued ID to ADDRESS for DOMAIN", or why not. */
    List<String> send(LocalDate day) throws IOException {
        List<DmarcAggregate.Report> reports = reports(config, rows, day);
        if (reports == null) return List.of("no DMARC data recorded for " + day);
        // reports come from an address of ours that accepts no replies worth reading; bounces go nowhere
        String from = "noreply-dmarc@" + config.domains().iterator().next();
        List<String> out = new ArrayList<>();
        for (DmarcAggregate.Report r : reports) {
            List<String> to = DmarcReportMail.recipients(r, dns);
            if (to.isEmpty()) out.add("no permitted rua address for " + r.policyDomain() + " " + r.rua());
            byte[] gzipped = r.gzipped();
            for (String addr : to) {
                Address a = Address.parse(addr, false);
                if (a == null) {
                    out.add("bad rua address " + addr + " for " + r.policyDomain());
                    continue;
                }
                byte[] mail = DmarcReportMail.compose(r, gzipped, from, addr, config.hostname(), clock.instant());
                Envelope env = new Envelope(ReversePath.NULL, List.of(new Recipient(a)), null, false, null, null,
                        config.hostname(), "127.0.0.1", null, clock.instant());
                out.add("queued " + queue.inject(env, mail) + " to " + addr + " for " + r.policyDomain() + " (" + r.messages() + " messages)");
            }
        }
        return out;
    }

    /** A day's aggregate reports (reporter: our host name, contact: postmaster of our first domain), or null without data. */
    static List<DmarcAggregate.Report> reports(Config config, DmarcReports recorded, LocalDate day) throws IOException {
        List<String> rows = recorded.rows(day);
        if (rows == null) return null;
        return DmarcAggregate.build(rows, config.hostname(), "postmaster@" + config.domains().iterator().next(), day);
    }
}
