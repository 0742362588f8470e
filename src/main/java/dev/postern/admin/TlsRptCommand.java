package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.tls.TlsReports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code postern tlsrpt report}: a day's TLS-RPT reports (RFC 8460), one gzipped JSON file per policy domain. */
@Command(name = "tlsrpt", description = "TLS reporting (RFC 8460)", subcommands = {TlsRptCommand.Report.class})
final class TlsRptCommand {

    @Command(name = "report", description = "Write a day's TLS reports as gzipped JSON, one per policy domain")
    static final class Report implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;
        @Option(names = "--day", description = "UTC day, YYYY-MM-DD (default: yesterday)") LocalDate day;
        @Option(names = "--out", description = "directory for the reports (default: <data_dir>/tlsrpt/reports)") Path out;

        @Override public Integer call() throws Exception {
            return Cli.withConfig(config, this::run);
        }

        private int run(Config c) throws Exception {
            LocalDate d = day != null ? day : LocalDate.now(ZoneOffset.UTC).minusDays(1);
            Path dir = out != null ? out : c.tlsReportsDir().resolve("reports");
            List<Path> files = TlsReports.report(c.tlsReportsDir(), d, c.hostname(), "mailto:postmaster@" + c.domains().iterator().next(), dir);
            if (files.isEmpty()) {
                System.err.println("no TLS sessions counted for " + d + " (" + c.tlsReportsDir().resolve(d + ".tsv") + ")");
                return 1;
            }
            files.forEach(f -> System.out.println(f));
            return 0;
        }
    }
}
