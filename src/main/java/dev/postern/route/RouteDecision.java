package dev.postern.route;

import dev.postern.mail.Nexthop;
import dev.postern.mail.Reply;

import java.util.List;

/** Where mail for one domain goes now: an ordered list of hops, or a failure with the reply to record. */
public sealed interface RouteDecision {

    /** @param viaRelayhost true when the configured relayhost is used (AUTH and STARTTLS required) */
    record Hops(Nexthop nexthop, List<Hop> hops, boolean viaRelayhost) implements RouteDecision {}

    /** reply is 4xx for temporary failures (retry), 5xx for permanent ones (bounce). */
    record Failed(Reply reply) implements RouteDecision {}
}
