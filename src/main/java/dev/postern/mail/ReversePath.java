package dev.postern.mail;

/** MAIL FROM's path: an address, or the null path {@code <>} used by bounces (RFC 5321 4.5.5). */
public record ReversePath(Address address) {
    public static final ReversePath NULL = new ReversePath(null);

    public boolean isNull() { return address == null; }

    @Override public String toString() { return isNull() ? "" : address.toString(); }
}
