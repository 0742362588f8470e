package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Cidr;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.route.Router;

import java.net.InetAddress;
import java.util.List;

/**
 * Who is trusted (relay_networks) and whether a local recipient exists. The address judged is the one after source-route removal,
 * and a local part is never re-parsed for '%', '!' or '@', so those old relay tricks stay local names.
 */
public final class RelayControl {
    private final Router router;
    private final List<Cidr> relayNetworks;

    public RelayControl(Router router, List<Cidr> relayNetworks) {
        this.router = router;
        this.relayNetworks = relayNetworks;
    }

    public boolean isTrustedNetwork(InetAddress client) {
        return relayNetworks.stream().anyMatch(c -> c.contains(client));
    }

    /**
     * Null when a local recipient exists (or the recipient is not local), else 550 5.1.1. Runs after the
     * rcpt checks, whatever they decided, as Postfix's local_recipient_maps does; relaying itself is
     * decided by reject_unauth_destination in the policy, which configuration cannot leave out.
     */
    public Reply checkLocalRecipient(Address rcpt) {
        if (router.isLocalDomain(rcpt.domain()) && !router.acceptsLocal(rcpt)) return Replies.NO_SUCH_USER;
        return null;
    }
}
