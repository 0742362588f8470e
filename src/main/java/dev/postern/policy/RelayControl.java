package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Cidr;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.route.Router;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who is trusted (relay_networks) and whether a recipient exists: local ones in the accounts and aliases,
 * those of relay domains in the relay_recipients list when there is one. The address judged is the one
 * after source-route removal, and a local part is never re-parsed for '%', '!' or '@', so those old relay
 * tricks stay local names.
 */
public final class RelayControl {
    private final Router router;
    private final List<Cidr> relayNetworks;
    /** Lower-cased addresses and "@domain" entries; null = every address of a relay domain may be tried. */
    private final Set<String> relayRecipients;
    /** Mailboxes a delivery recently found over quota (deliver.MaildirWriter knows; no I/O here). */
    public interface FullMailboxes {
        /** Cheap: false when no mailbox is known full, so RCPT need not expand the address. */
        boolean any();

        boolean isFull(String mailbox);
    }

    private volatile FullMailboxes full = null;

    public RelayControl(Router router, List<Cidr> relayNetworks) {
        this(router, relayNetworks, null);
    }

    public RelayControl(Router router, List<Cidr> relayNetworks, Set<String> relayRecipients) {
        this.router = router;
        this.relayNetworks = relayNetworks;
        this.relayRecipients = relayRecipients;
    }

    /** Reads a relay_recipients file: one address or "@domain" per line; '#' starts a comment. */
    public static Set<String> readRecipientList(Path file) throws IOException {
        Set<String> out = new HashSet<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            int hash = line.indexOf('#');
            String entry = (hash >= 0 ? line.substring(0, hash) : line).trim().toLowerCase(Locale.ROOT);
            if (!entry.isEmpty()) out.add(entry);
        }
        return out;
    }

    public void fullMailboxesFrom(FullMailboxes full) { this.full = full; }

    public boolean isTrustedNetwork(InetAddress client) {
        return relayNetworks.stream().anyMatch(c -> c.contains(client));
    }

    /**
     * Null when the recipient exists or cannot be judged here, else 550 5.1.1. Runs after the rcpt checks,
     * whatever they decided, as Postfix's local_recipient_maps and relay_recipient_maps do; relaying
     * itself is decided by reject_unauth_destination in the policy, which configuration cannot leave out.
     */
    public Reply checkLocalRecipient(Address rcpt) {
        if (router.isLocalDomain(rcpt.domain())) {
            if (!router.acceptsLocal(rcpt)) return Replies.NO_SUCH_USER;
            FullMailboxes f = full;
            if (f == null || !f.any()) return null;
            for (String mb : router.resolve(rcpt).mailboxes()) {
                // RFC 3463 3.3 X.2.2 mailbox full: the sender may try again later
                if (f.isFull(mb)) return Reply.of(452, "4.2.2", "<" + rcpt + ">: Mailbox full");
            }
            return null;
        }
        if (relayRecipients != null && router.isRelayDomain(rcpt.domain()) && !listed(rcpt)) return Replies.NO_SUCH_USER;
        return null;
    }

    private boolean listed(Address rcpt) {
        if (relayRecipients.contains(rcpt.key()) || relayRecipients.contains("@" + rcpt.domain())) return true;
        Address base = router.withoutExtension(rcpt);
        return base != null && relayRecipients.contains(base.key());
    }
}
