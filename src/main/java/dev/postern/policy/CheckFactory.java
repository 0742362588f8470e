package dev.postern.policy;

import dev.postern.mail.Cidr;
import dev.postern.route.Dns;
import dev.postern.route.Router;

import java.util.List;
import java.util.Map;

/** Builds checks by their configuration names. The names and what each needs are listed here only. */
public final class CheckFactory {
    private final Router router;
    private final List<Cidr> mynetworks;
    private final Map<Cidr, String> clientAccess;
    private final Dns dns;
    private final Map<String, Integer> dnsblZones;
    private final int dnsblThreshold;
    private final Greylist greylist;
    private final RateLimit rateLimit;
    private final List<String> senderDbl;
    private final Map<String, AccessTable> accessTables;
    private final SpfResults spf;
    private final AuthFailures authFailures;
    private RecipientVerifier verifier;
    private Plugins plugins = Plugins.NONE;

    public CheckFactory(Router router, List<Cidr> mynetworks, Map<Cidr, String> clientAccess, Dns dns,
                        Map<String, Integer> dnsblZones, int dnsblThreshold, Greylist greylist, RateLimit rateLimit,
                        List<String> senderDbl, Map<String, AccessTable> accessTables) {
        this(router, mynetworks, clientAccess, dns, dnsblZones, dnsblThreshold, greylist, rateLimit, senderDbl, accessTables, null, null);
    }

    public CheckFactory(Router router, List<Cidr> mynetworks, Map<Cidr, String> clientAccess, Dns dns,
                        Map<String, Integer> dnsblZones, int dnsblThreshold, Greylist greylist, RateLimit rateLimit,
                        List<String> senderDbl, Map<String, AccessTable> accessTables, SpfResults spf, AuthFailures authFailures) {
        this.spf = spf;
        this.authFailures = authFailures;
        this.senderDbl = senderDbl;
        this.accessTables = accessTables;
        this.greylist = greylist;
        this.rateLimit = rateLimit;
        this.router = router;
        this.mynetworks = mynetworks;
        this.clientAccess = clientAccess;
        this.dns = dns;
        this.dnsblZones = dnsblZones;
        this.dnsblThreshold = dnsblThreshold;
    }

    /** The verifier reject_unverified_recipient uses (built only when configured: it owns probe threads). */
    public CheckFactory withVerifier(RecipientVerifier v) {
        this.verifier = v;
        return this;
    }

    /** Checks from jars in the [plugins] directory, asked for any name that is not built in. */
    public CheckFactory withPlugins(Plugins p) {
        this.plugins = p;
        return this;
    }

    private AccessTable table(String key) {
        AccessTable t = accessTables.get(key);
        if (t == null) throw new IllegalArgumentException("no " + key + " file configured");
        return t;
    }

    public Check create(String name) {
        return switch (name) {
            case "permit_mynetworks" -> Checks.permitMynetworks(mynetworks);
            case "permit_authenticated" -> Checks.permitAuthenticated();
            case "reject_unauth_destination" -> Checks.rejectUnauthDestination(router);
            case "check_client_access" -> Checks.clientAccess(clientAccess);
            case "reject_invalid_helo_hostname" -> Checks.rejectInvalidHeloHostname();
            case "reject_non_fqdn_helo_hostname" -> Checks.rejectNonFqdnHeloHostname();
            case "reject_non_fqdn_sender" -> Checks.rejectNonFqdnSender();
            case "reject_non_fqdn_recipient" -> Checks.rejectNonFqdnRecipient();
            case "check_dnsbl" -> new DnsblCheck(dns, dnsblZones, dnsblThreshold);
            case "reject" -> Checks.reject();
            case "reject_sender_login_mismatch" -> Checks.rejectSenderLoginMismatch(router);
            case "greylist" -> greylist;
            case "reject_unknown_client_hostname" -> DnsChecks.unknownClientHostname(dns);
            case "check_sender_dbl" -> DnsChecks.senderDomainBlocklist(dns, senderDbl);
            case "check_sender_access" -> Checks.senderAccess(table("sender_access"));
            case "check_recipient_access" -> Checks.recipientAccess(table("recipient_access"));
            case "check_client_hostname_access" -> Checks.clientHostnameAccess(table("client_hostname_access"));
            case "rate_limit" -> rateLimit;
            case "reject_auth_failures" -> {
                if (authFailures == null) throw new IllegalArgumentException("reject_auth_failures needs the failure counter");
                yield authFailures;
            }
            case "reject_spf_fail" -> {
                if (spf == null) throw new IllegalArgumentException("reject_spf_fail needs SPF");
                yield spf.rejectFail();
            }
            case "reject_unverified_recipient" -> {
                if (verifier == null) throw new IllegalArgumentException("reject_unverified_recipient needs the verifier");
                yield verifier;
            }
            default -> {
                Check c = plugins.create(name);
                if (c == null) throw new IllegalArgumentException(plugins.unknown(name));
                yield c;
            }
        };
    }
}
