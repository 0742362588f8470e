package dev.postern.policy;

import dev.postern.mail.Reply;
import dev.postern.route.Dns;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/** Checks that ask DNS about the client or the sender; all run off the event loop. */
public final class DnsChecks {
    private DnsChecks() {}

    /**
     * reject_unknown_client_hostname: the client's address must have a PTR name whose A/AAAA records lead
     * back to the address (forward-confirmed reverse DNS). Temporary DNS failures defer (450 4.7.25),
     * a missing or unconfirmed name rejects (550 5.7.25), as RFC 8601's and Postfix's practice goes.
     */
    public static Check unknownClientHostname(Dns dns) {
        return new Checks.Simple("reject_unknown_client_hostname", f -> {
            Dns.Answer<String> names = dns.ptr(f.client());
            if (names.status() == Dns.Status.TEMPFAIL) {
                return new Verdict.Defer("reject_unknown_client_hostname", Reply.of(450, "4.7.25",
                        "Client host rejected: cannot find your hostname, [" + f.client().getHostAddress() + "] (temporary DNS failure)"));
            }
            boolean tempFailure = false;
            for (String name : names.values()) {
                Dns.Answer<InetAddress> back = dns.addresses(name);
                if (back.values().contains(f.client())) return Verdict.CONTINUE;
                tempFailure |= back.status() == Dns.Status.TEMPFAIL;
            }
            if (tempFailure) {
                return new Verdict.Defer("reject_unknown_client_hostname", Reply.of(450, "4.7.25",
                        "Client host rejected: cannot confirm your hostname (temporary DNS failure)"));
            }
            return new Verdict.Reject("reject_unknown_client_hostname", Reply.of(550, "5.7.25",
                    "Client host rejected: cannot find your hostname, [" + f.client().getHostAddress() + "]"));
        }, true);
    }

    /**
     * The client's forward-confirmed name, as Postfix shows it in logs and Received fields, or null
     * ("unknown") when there is none or the DNS fails. Asks the configured servers, not the JVM's resolver.
     */
    public static String verifiedName(Dns dns, InetAddress client) {
        for (String name : dns.ptr(client).values().stream().limit(10).toList()) {
            if (dns.addresses(name).values().contains(client)) return name;
        }
        return null;
    }

    /** check_sender_dbl: the sender's domain looked up in domain blocklists ("example.com.dbl.test" has an A record). */
    public static Check senderDomainBlocklist(Dns dns, List<String> zones) {
        return new Checks.Simple("check_sender_dbl", f -> {
            if (f.sender() == null) return Verdict.CONTINUE;
            List<String> hits = new ArrayList<>();
            for (String zone : zones) {
                Dns.Answer<InetAddress> a = dns.addresses(f.sender().domain() + "." + zone);
                if (a.status() == Dns.Status.OK && a.values().stream().anyMatch(DnsblCheck::isListingCode)) hits.add(zone);
            }
            if (hits.isEmpty()) return Verdict.CONTINUE;
            return new Verdict.Reject("check_sender_dbl", Reply.of(554, "5.7.1", "<" + f.sender() + ">: Sender address rejected: domain "
                    + f.sender().domain() + " listed by " + String.join(", ", hits)));
        }, true);
    }
}
