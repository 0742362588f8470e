package dev.postern.route;

import dev.postern.mail.Address;

import java.util.Map;
import java.util.Set;

/**
 * What a recipient expands to: local mailboxes (lower-cased address keys) and remote addresses.
 * unknown is set when a local name does not exist (RFC 5321 4.2.2: 550 5.1.1). extensions maps a mailbox
 * reached directly through a sub-address (alice+news → alice) to its extension ("news").
 */
public record Resolution(Set<String> mailboxes, Set<Address> remote, String unknown, Map<String, String> extensions) {
    public Resolution(Set<String> mailboxes, Set<Address> remote, String unknown) {
        this(mailboxes, remote, unknown, Map.of());
    }

    public boolean isUnknown() { return unknown != null; }
}
