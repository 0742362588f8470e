package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.policy.DmarcAggregate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code postern dmarc report}: one day's recorded DMARC results as RFC 7489 aggregate reports (gzip'd XML). */
@Command(name = "dmarc", description = "DMARC aggregate reports", subcommands = {DmarcCommand.Report.class})
final class DmarcCommand {

    @Command(name = "report", description = "Write one day's aggregate reports, one file per policy domain")
    static final class Report implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;
        @Option(names = "--day", description = "UTC day, YYYY-MM-DD (default: yesterday)") LocalDate day;
        @Option(names = "--out", description = "directory for the reports (default: <data_dir>/dmarc/reports)") Path out;
        @Option(names = "--send", description = "have the running server mail them to the rua addresses instead") boolean send;

        @Override public Integer call() throws Exception {
            return Cli.withConfig(config, this::run);
        }

        private int run(Config c) throws Exception {
            LocalDate d = day != null ? day : LocalDate.now(ZoneOffset.UTC).minusDays(1);
            if (send) {
                var body = AdminClient.call(c, "POST", "/dmarc/send?day=" + d);
                if (body == null) return 1;
                body.path("result").forEach(l -> System.out.println(l.asText()));
                return 0;
            }
            List<DmarcAggregate.Report> reports;
            String where;
            if (c.clustered()) {
                // a cluster's rows are in its database, from every node
                try (dev.postern.store.Database db = dev.postern.store.Database.open(c.cluster(), 2)) {
                    db.checkSchema();
                    var recorded = new dev.postern.policy.DmarcReports(c.dmarcDir(), java.time.Clock.systemUTC(),
                            new dev.postern.policy.PgPolicyState(db));
                    reports = DmarcReportSender.reports(c, recorded, d);
                    where = recorded.where(d);
                } catch (dev.postern.store.Database.SchemaMismatch e) {
                    System.err.println("postern: " + e.getMessage());
                    return 1;
                }
            } else {
                var recorded = new dev.postern.policy.DmarcReports(c.dmarcDir(), java.time.Clock.systemUTC());
                reports = DmarcReportSender.reports(c, recorded, d);
                where = recorded.where(d);
            }
            if (reports == null) {
                System.err.println("no DMARC data recorded for " + d + " (" + where + ")");
                return 1;
            }
            Path dir = Files.createDirectories(out != null ? out : c.dmarcDir().resolve("reports"));
            for (DmarcAggregate.Report r : reports) {
                Path file = dir.resolve(r.fileName() + ".gz");
                Files.write(file, r.gzipped());
                System.out.println(file + "\t" + r.messages() + " messages\t" + (r.rua().isEmpty() ? "(no rua published)" : String.join(" ", r.rua())));
            }
            return 0;
        }
    }
}
