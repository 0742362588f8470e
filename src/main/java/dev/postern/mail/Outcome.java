package dev.postern.mail;

/**
 * What happened to one recipient in one delivery attempt. Only the queue turns outcomes into state.
 *
 * @param relay        where it went, "host[ip]:port" or "local"
 * @param dsnPassedOn  the next hop supports DSN and received our NOTIFY/ORCPT (RFC 3461 5.2: it now owns
 *                     success notices); false means we report "relayed" or "delivered" ourselves
 */
public record Outcome(Kind kind, Reply reply, String relay, boolean dsnPassedOn) {
    public enum Kind { DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE }

    public static Outcome delivered(String relay, String detail) {
        return new Outcome(Kind.DELIVERED, Reply.of(250, "2.0.0", detail), relay, false);
    }
    public static Outcome delivered(String relay, Reply reply, boolean dsnPassedOn) {
        return new Outcome(Kind.DELIVERED, reply, relay, dsnPassedOn);
    }
    public static Outcome temporary(String relay, Reply reply) { return new Outcome(Kind.TEMPORARY_FAILURE, reply, relay, false); }
    public static Outcome permanent(String relay, Reply reply) { return new Outcome(Kind.PERMANENT_FAILURE, reply, relay, false); }

    /** An outcome decided by a reply code: 2xx delivered, 4xx temporary, 5xx permanent. */
    public static Outcome fromReply(String relay, Reply reply, boolean dsnPassedOn) {
        if (reply.isPositive()) return delivered(relay, reply, dsnPassedOn);
        return reply.isTransient() ? temporary(relay, reply) : permanent(relay, reply);
    }
}
