package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Cidr;
import dev.postern.mail.Domains;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.route.Router;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The built-in checks that need no outside data beyond the configuration. */
public final class Checks {
    private Checks() {}

    /** A check from a name and a function; most checks are one expression. blocking: it asks DNS. */
    record Simple(String name, Function<Facts, Verdict> rule, boolean blocking) implements Check {
        Simple(String name, Function<Facts, Verdict> rule) { this(name, rule, false); }

        @Override public Verdict check(Facts f) { return rule.apply(f); }
    }

    public static Check permitMynetworks(List<Cidr> networks) {
        return new Simple("permit_mynetworks", f -> networks.stream().anyMatch(c -> c.contains(f.client()))
                ? new Verdict.Accept("permit_mynetworks") : Verdict.CONTINUE);
    }

    public static Check permitAuthenticated() {
        return new Simple("permit_authenticated", f -> f.authenticated() ? new Verdict.Accept("permit_authenticated") : Verdict.CONTINUE);
    }

    /** RFC 5321 7.1 / Postfix: mail for other domains than ours and our relay_domains needs a permit before this point. */
    public static Check rejectUnauthDestination(Router router) {
        return new Simple("reject_unauth_destination", f -> f.recipient() == null || router.isLocalDomain(f.recipient().domain())
                || router.isRelayDomain(f.recipient().domain())
                ? Verdict.CONTINUE
                : new Verdict.Reject("reject_unauth_destination", Replies.RELAY_DENIED.withText("<" + f.recipient() + ">: Relay access denied")));
    }

    /**
     * Postfix's check_client_access with a CIDR table: "permit", "reject", "defer" or "drop" (postscreen's: 521 and
     * close, RFC 7504) per network; first match wins.
     */
    public static Check clientAccess(Map<Cidr, String> table) {
        return new Simple("check_client_access", f -> {
            for (var e : table.entrySet()) {
                if (!e.getKey().contains(f.client())) continue;
                return switch (e.getValue()) {
                    case "permit" -> new Verdict.Accept("check_client_access");
                    case "defer" -> new Verdict.Defer("check_client_access", Reply.of(450, "4.7.1", "Client host rejected: try again later"));
                    case "drop" -> new Verdict.Disconnect("check_client_access", Reply.of(521, "5.7.1",
                            "Client host [" + f.client().getHostAddress() + "] rejected: this server does not accept mail from you"));
                    default -> new Verdict.Reject("check_client_access", Reply.of(554, "5.7.1",
                            "Client host [" + f.client().getHostAddress() + "] rejected: Access denied"));
                };
            }
            return Verdict.CONTINUE;
        });
    }

    /** RFC 5321 4.1.1.1: the EHLO argument is a domain or an address literal. */
    public static Check rejectInvalidHeloHostname() {
        return new Simple("reject_invalid_helo_hostname", f -> f.helo() == null || Domains.isValid(f.helo(), true)
                ? Verdict.CONTINUE
                : new Verdict.Reject("reject_invalid_helo_hostname", Reply.of(501, "5.5.2", "<" + f.helo() + ">: Helo command rejected: Invalid name")));
    }

    /** A HELO name with no dot (and not an address literal) is not fully qualified. */
    public static Check rejectNonFqdnHeloHostname() {
        return new Simple("reject_non_fqdn_helo_hostname", f -> f.helo() == null || f.helo().startsWith("[") || fqdn(f.helo())
                ? Verdict.CONTINUE
                : new Verdict.Reject("reject_non_fqdn_helo_hostname", Reply.of(504, "5.5.2", "<" + f.helo() + ">: Helo command rejected: need fully-qualified hostname")));
    }

    public static Check rejectNonFqdnSender() {
        return nonFqdn("reject_non_fqdn_sender", Facts::sender, "5.1.7", "Sender address rejected");
    }

    public static Check rejectNonFqdnRecipient() {
        return nonFqdn("reject_non_fqdn_recipient", Facts::recipient, "5.1.3", "Recipient address rejected");
    }

    private static Check nonFqdn(String name, Function<Facts, Address> which, String status, String what) {
        return new Simple(name, f -> {
            Address a = which.apply(f);
            if (a == null || a.domain().startsWith("[") || fqdn(a.domain())) return Verdict.CONTINUE;
            return new Verdict.Reject(name, Reply.of(504, status, "<" + a + ">: " + what + ": need fully-qualified address"));
        });
    }

    private static boolean fqdn(String domain) {
        return domain.contains(".") && !domain.endsWith(".");
    }

    /** check_sender_access: the sender address in an access table (the null sender is looked up as "<>"). */
    public static Check senderAccess(AccessTable table) {
        return new Simple("check_sender_access", f -> {
            if (f.nullSender()) return AccessTable.verdict("check_sender_access", table.lookup(List.of("<>")), "<>: Sender address rejected");
            if (f.sender() == null) return Verdict.CONTINUE;
            return AccessTable.verdict("check_sender_access", table.lookup(AccessTable.addressKeys(f.sender().localPart(), f.sender().domain())),
                    "<" + f.sender() + ">: Sender address rejected");
        });
    }

    public static Check recipientAccess(AccessTable table) {
        return new Simple("check_recipient_access", f -> f.recipient() == null ? Verdict.CONTINUE
                : AccessTable.verdict("check_recipient_access", table.lookup(AccessTable.addressKeys(f.recipient().localPart(), f.recipient().domain())),
                        "<" + f.recipient() + ">: Recipient address rejected"));
    }

    /** The client's reverse name ("unknown" when it has none) in an access table. */
    public static Check clientHostnameAccess(AccessTable table) {
        return new Simple("check_client_hostname_access", f -> AccessTable.verdict("check_client_hostname_access",
                table.lookup(AccessTable.hostKeys(f.clientName() == null ? "unknown" : f.clientName())),
                "Client host " + f.clientName() + "[" + f.client().getHostAddress() + "] rejected"));
    }

    /**
     * reject_sender_login_mismatch (Postfix semantics, the accounts and aliases as the login map): an
     * authenticated user may send only as an address that delivers to their own mailbox; a client that did
     * not log in may not use an address that belongs to an account here. The null sender is always allowed.
     */
    public static Check rejectSenderLoginMismatch(Router router) {
        return new Simple("reject_sender_login_mismatch", f -> {
            Address s = f.sender();
            if (s == null) return Verdict.CONTINUE;
            boolean local = router.isLocalDomain(s.domain());
            var owners = local ? router.resolve(s).mailboxes() : java.util.Set.<String>of();
            if (f.authenticated()) {
                if (owners.contains(f.authUser().toLowerCase(java.util.Locale.ROOT))) return Verdict.CONTINUE;
                return new Verdict.Reject("reject_sender_login_mismatch", Reply.of(553, "5.7.1",
                        "<" + s + ">: Sender address rejected: not owned by user " + f.authUser()));
            }
            if (owners.isEmpty()) return Verdict.CONTINUE;
            return new Verdict.Reject("reject_sender_login_mismatch", Reply.of(553, "5.7.1", "<" + s + ">: Sender address rejected: not logged in"));
        });
    }

    /** A check that always rejects: the end of a strict list ("reject"). */
    public static Check reject() {
        return new Simple("reject", f -> new Verdict.Reject("reject", Reply.of(554, "5.7.1", "Access denied")));
    }
}
