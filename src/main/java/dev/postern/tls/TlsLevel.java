package dev.postern.tls;

import java.util.Locale;

/** Postfix's smtp_tls_security_level, the levels Postern implements. */
public enum TlsLevel {
    /** Never STARTTLS. */
    NONE,
    /** STARTTLS when offered, any certificate; a failed handshake retries in plaintext. */
    MAY,
    /** TLS required, any certificate. */
    ENCRYPT,
    /** TLS required; the chain is trusted and the certificate names the MX host as found in DNS (RFC 6125). */
    VERIFY,
    /** TLS required; the chain is trusted and the certificate names the next-hop domain or a subdomain of it. */
    SECURE,
    /** Opportunistic DANE (RFC 7672): DNSSEC-secure usable TLSA records authenticate the MX host; without them, "may". */
    DANE,
    /** Mandatory DANE: only MX hosts with secure, usable TLSA records, and a peer that matches them. */
    DANE_ONLY;

    public boolean requiresTls() { return this != NONE && this != MAY && this != DANE; }

    /** Whether every session at this level proves the peer's identity ("dane" does so only where TLSA records exist). */
    public boolean authenticates() { return this == VERIFY || this == SECURE || this == DANE_ONLY; }

    public boolean isDane() { return this == DANE || this == DANE_ONLY; }

    /** The level by its configuration name, or null. */
    public static TlsLevel parse(String s) {
        for (TlsLevel l : values()) if (l.toString().equals(s.toLowerCase(Locale.ROOT))) return l;
        return null;
    }

    @Override public String toString() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }
}
