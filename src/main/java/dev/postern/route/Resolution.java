package dev.postern.route;

import dev.postern.mail.Address;

import java.util.Set;

/**
 * What a recipient expands to: local mailboxes (lower-cased address keys) and remote addresses.
 * unknown is set when a local name does not exist (RFC 5321 4.2.2: 550 5.1.1).
 */
public record Resolution(Set<String> mailboxes, Set<Address> remote, String unknown) {
    public boolean isUnknown() { return unknown != null; }
}
