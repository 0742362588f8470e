package dev.postern.mail;

/**
 * One RCPT: the address as given, and the DSN parameters that travel with it (RFC 3461 4.1, 4.2).
 * notifyOn is null when the client gave no NOTIFY; orcpt is the raw "addr-type;xtext" value or null.
 */
public record Recipient(Address address, String notifyOn, String orcpt) {
    public Recipient(Address address) { this(address, null, null); }
}
