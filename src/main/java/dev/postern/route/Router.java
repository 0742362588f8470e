package dev.postern.route;

import dev.postern.mail.Address;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** Resolves local recipients through aliases to mailboxes; the first routing rule of RFC 5321 5.1. */
public final class Router {
    private static final int MAX_ALIAS_DEPTH = 10;

    private final Set<String> domains;
    private final Map<String, List<String>> aliases;
    private final Predicate<String> isUser;
    private final String postmasterDomain;

    public Router(Set<String> domains, Map<String, List<String>> aliases, Predicate<String> isUser, String hostname) {
        this.domains = domains;
        this.aliases = aliases;
        this.isUser = isUser;
        this.postmasterDomain = domains.contains(hostname) ? hostname : domains.iterator().next();
    }

    public boolean isLocalDomain(String domain) { return domains.contains(domain); }

    /** RFC 5321 4.5.1: "&lt;Postmaster&gt;" without a domain means the postmaster of this host. */
    public Address postmaster() { return new Address("postmaster", postmasterDomain); }

    /** Whether RCPT should accept this local address: a user, an alias, or a domain's postmaster. */
    public boolean acceptsLocal(Address a) {
        String key = a.key();
        return isUser.test(key) || aliases.containsKey(key) || isPostmaster(a);
    }

    private boolean isPostmaster(Address a) {
        return a.localPart().equalsIgnoreCase("postmaster") && domains.contains(a.domain());
    }

    public Resolution resolve(Address a) {
        Set<String> mailboxes = new LinkedHashSet<>();
        Set<Address> remote = new LinkedHashSet<>();
        String unknown = expand(a, 0, mailboxes, remote, new LinkedHashSet<>());
        return new Resolution(mailboxes, remote, unknown);
    }

    private String expand(Address a, int depth, Set<String> mailboxes, Set<Address> remote, Set<String> seen) {
        if (!domains.contains(a.domain())) {
            remote.add(a);
            return null;
        }
        String key = a.key();
        List<String> targets = aliases.get(key);
        if (targets != null && depth < MAX_ALIAS_DEPTH && seen.add(key)) {
            for (String t : targets) {
                int at = t.lastIndexOf('@');
                String err = expand(new Address(t.substring(0, at), t.substring(at + 1)), depth + 1, mailboxes, remote, seen);
                if (err != null) return err;
            }
            return null;
        }
        // an alias that (indirectly) names itself delivers to the mailbox of that name, as Postfix does
        if (isUser.test(key) || isPostmaster(a) || targets != null) {
            mailboxes.add(key);
            return null;
        }
        return key;
    }
}
