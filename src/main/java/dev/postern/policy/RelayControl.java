package dev.postern.policy;

import dev.postern.mail.Address;
import dev.postern.mail.Cidr;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.route.Router;

import java.net.InetAddress;
import java.util.List;

/**
 * RCPT-phase decision: local recipients must exist; remote recipients need a trusted client
 * (relay_networks) or an authenticated one. The address judged is the one after source-route removal,
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

    /** Null when the recipient is acceptable, else the reply that refuses it. */
    public Reply checkRecipient(Address rcpt, InetAddress client, boolean authenticated) {
        if (router.isLocalDomain(rcpt.domain())) {
            return router.acceptsLocal(rcpt) ? null : Replies.NO_SUCH_USER;
        }
        if (authenticated || isTrustedNetwork(client)) return null;
        return Replies.RELAY_DENIED;
    }
}
