package dev.postern.mail;

/** What happened to one recipient in one delivery attempt. Only the queue turns outcomes into state. */
public record Outcome(Kind kind, Reply reply, String relay) {
    public enum Kind { DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE }

    public static Outcome delivered(String relay, String detail) {
        return new Outcome(Kind.DELIVERED, Reply.of(250, "2.0.0", detail), relay);
    }
    public static Outcome temporary(String relay, Reply reply) { return new Outcome(Kind.TEMPORARY_FAILURE, reply, relay); }
    public static Outcome permanent(String relay, Reply reply) { return new Outcome(Kind.PERMANENT_FAILURE, reply, relay); }
}
