package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.queue.Queue;
import dev.postern.route.Dns;
import dev.postern.tls.TlsReportMail;
import dev.postern.tls.TlsReports;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/**
 * With [delivery] tlsrpt_send: each finished UTC day's TLS reports go, once, to the mailto: rua addresses
 * of each policy domain's _smtp._tls record, from a null sender and DKIM-signed as notices are (RFC 8460
 * 5.3), and POSTed to its https: rua URIs (5.4: application/tlsrpt+gzip, certificate checked, no redirects);
 * a marker in tlsrpt/sent remembers the day across restarts.
 */
final class TlsReportSender {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("postern.tlsrpt");
    private final Config config;
    private final Dns dns;
    private final Queue queue;
    private final Clock clock;
    /** For https: rua; null when no trusted CAs were loaded. */
    private final javax.net.ssl.SSLContext https;

    TlsReportSender(Config config, Dns dns, Queue queue, Clock clock, javax.net.ssl.SSLContext https) {
        this.config = config;
        this.dns = dns;
        this.queue = queue;
        this.clock = clock;
        this.https = https;
    }

    void sendYesterdayOnce() {
        LocalDate day = LocalDate.ofInstant(clock.instant(), java.time.ZoneOffset.UTC).minusDays(1);
        Path marker = config.tlsReportsDir().resolve("sent").resolve(day.toString());
        if (Files.exists(marker) || !Files.exists(config.tlsReportsDir().resolve(day + ".tsv"))) return;
        try {
            for (String line : send(day)) log.info("TLS report {}: {}", day, line);
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, clock.instant() + "\n");
        } catch (IOException | RuntimeException e) {
            log.warn("cannot send the TLS reports of {}: {}", day, e.toString());
        }
    }

    /** One line per report and address: "queued ID to ADDRESS for DOMAIN", or why not. */
    List<String> send(LocalDate day) throws IOException {
        String from = "noreply-tlsrpt@" + config.domains().iterator().next();
        List<String> out = new ArrayList<>();
        for (TlsReports.Report r : TlsReports.reports(config.tlsReportsDir(), day, config.hostname(),
                "mailto:postmaster@" + config.domains().iterator().next())) {
            List<String> rua = TlsReportMail.rua(dns, r.domain());
            if (rua.isEmpty()) out.add("no TLSRPTv1 record for " + r.domain());
            for (String uri : rua) {
                if (uri.startsWith("https:")) {
                    out.add(post(uri, r));
                    continue;
                }
                String addr = uri.substring(7).replaceAll("!.*$", ""); // RFC 8460 3: a size limit may follow "!"
                Address a = Address.parse(addr, false);
                if (a == null) {
                    out.add("bad rua address " + addr + " for " + r.domain());
                    continue;
                }
                byte[] mail = TlsReportMail.compose(r, from, addr, config.hostname(), clock.instant());
                Envelope env = new Envelope(ReversePath.NULL, List.of(new Recipient(a)), null, false, null, null,
                        config.hostname(), "127.0.0.1", null, clock.instant());
                out.add("queued " + queue.inject(env, mail) + " to " + addr + " for " + r.domain());
            }
        }
        return out;
    }

    /** RFC 8460 5.4: one POST of the gzipped report; a 2xx reply is success, anything else is logged. */
    private String post(String uri, TlsReports.Report r) {
        if (https == null) return "not sent to " + uri + " for " + r.domain() + ": no trusted CAs loaded";
        try {
            var client = java.net.http.HttpClient.newBuilder().sslContext(https).followRedirects(java.net.http.HttpClient.Redirect.NEVER)
                    .connectTimeout(java.time.Duration.ofSeconds(30)).build();
            var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(uri)).timeout(java.time.Duration.ofSeconds(60))
                    .header("Content-Type", "application/tlsrpt+gzip")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(r.gzipped())).build();
            int status = client.send(request, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
            return (status / 100 == 2 ? "posted to " : "refused (HTTP " + status + ") by ") + uri + " for " + r.domain();
        } catch (IOException | IllegalArgumentException e) {
            return "not posted to " + uri + " for " + r.domain() + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "not posted to " + uri + ": interrupted";
        }
    }
}
