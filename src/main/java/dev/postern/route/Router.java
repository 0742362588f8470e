package dev.postern.route;

import dev.postern.mail.Address;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Resolves local recipients through aliases to mailboxes; the first routing rule of RFC 5321 5.1. With a
 * recipient_delimiter, "alice+news" that is neither a user nor an alias is looked up again as "alice"
 * (Postfix's order: the full address first); the extension is not carried to alias targets.
 */
public final class Router {
    private static final int MAX_ALIAS_DEPTH = 10;

    /** The routing tables, replaced whole by a configuration reload: a lookup sees one version or the next. */
    private record Tables(Set<String> domains, Set<String> relayDomains, String delimiters, Map<String, List<String>> aliases,
                          String postmasterDomain) {}

    private volatile Tables tables;
    private final Predicate<String> isUser;

    public Router(Set<String> domains, Map<String, List<String>> aliases, Predicate<String> isUser, String hostname) {
        this(domains, Set.of(), aliases, isUser, hostname, "");
    }

    public Router(Set<String> domains, Set<String> relayDomains, Map<String, List<String>> aliases, Predicate<String> isUser,
                  String hostname, String delimiters) {
        this.isUser = isUser;
        reconfigure(domains, relayDomains, aliases, hostname, delimiters);
    }

    /** New domains, aliases and delimiters (a configuration reload); lookups in progress finish on the old ones. */
    public void reconfigure(Set<String> domains, Set<String> relayDomains, Map<String, List<String>> aliases, String hostname,
                            String delimiters) {
        tables = new Tables(domains, relayDomains, delimiters, aliases, domains.contains(hostname) ? hostname : domains.iterator().next());
    }

    public boolean isLocalDomain(String domain) { return tables.domains().contains(domain); }

    /** A domain we accept mail for from anyone and pass on (relay_domains). */
    public boolean isRelayDomain(String domain) { return tables.relayDomains().contains(domain); }

    /** The address without its extension (alice+news → alice), or null when it has none. */
    public Address withoutExtension(Address a) {
        String delimiters = tables.delimiters();
        if (delimiters.isEmpty()) return null;
        String local = a.localPart();
        for (int i = 1; i < local.length(); i++) { // Postfix: the first delimiter found; none at the very start
            if (delimiters.indexOf(local.charAt(i)) >= 0) return new Address(local.substring(0, i), a.domain());
        }
        return null;
    }

    /** The extension of an address (alice+news → news), or null. */
    public String extensionOf(Address a) {
        Address base = withoutExtension(a);
        return base == null ? null : a.localPart().substring(base.localPart().length() + 1);
    }

    /** RFC 5321 4.5.1: "&lt;Postmaster&gt;" without a domain means the postmaster of this host. */
    public Address postmaster() { return new Address("postmaster", tables.postmasterDomain()); }

    /** Whether RCPT should accept this local address: a user, an alias, or a domain's postmaster. */
    public boolean acceptsLocal(Address a) {
        if (exists(a)) return true;
        Address base = withoutExtension(a);
        return base != null && exists(base);
    }

    private boolean exists(Address a) {
        String key = a.key();
        return isUser.test(key) || tables.aliases().containsKey(key) || isPostmaster(a);
    }

    private boolean isPostmaster(Address a) {
        return a.localPart().equalsIgnoreCase("postmaster") && tables.domains().contains(a.domain());
    }

    public Resolution resolve(Address a) {
        Set<String> mailboxes = new LinkedHashSet<>();
        Set<Address> remote = new LinkedHashSet<>();
        Map<String, String> extensions = new HashMap<>();
        String unknown = expand(tables, a, 0, mailboxes, remote, new LinkedHashSet<>(), extensions);
        return new Resolution(mailboxes, remote, unknown, extensions);
    }

    private String expand(Tables t, Address a, int depth, Set<String> mailboxes, Set<Address> remote, Set<String> seen,
                          Map<String, String> extensions) {
        if (!t.domains().contains(a.domain())) {
            remote.add(a);
            return null;
        }
        String key = a.key();
        List<String> targets = t.aliases().get(key);
        if (targets != null && depth < MAX_ALIAS_DEPTH && seen.add(key)) {
            for (String target : targets) {
                int at = target.lastIndexOf('@');
                String err = expand(t, new Address(target.substring(0, at), target.substring(at + 1)), depth + 1, mailboxes, remote, seen, extensions);
                if (err != null) return err;
            }
            return null;
        }
        // an alias that (indirectly) names itself delivers to the mailbox of that name, as Postfix does
        if (isUser.test(key) || isPostmaster(a) || targets != null) {
            mailboxes.add(key);
            return null;
        }
        Address base = withoutExtension(a);
        if (base != null && exists(base)) {
            String err = expand(t, base, depth, mailboxes, remote, seen, extensions);
            if (err == null && depth == 0 && mailboxes.contains(base.key())) extensions.putIfAbsent(base.key(), extensionOf(a));
            return err;
        }
        return key;
    }
}
