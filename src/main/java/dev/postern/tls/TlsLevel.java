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
    SECURE;

    public boolean requiresTls() { return compareTo(ENCRYPT) >= 0; }

    public boolean authenticates() { return compareTo(VERIFY) >= 0; }

    /** The level by its configuration name, or null. */
    public static TlsLevel parse(String s) {
        for (TlsLevel l : values()) if (l.name().equals(s.toUpperCase(Locale.ROOT))) return l;
        return null;
    }

    @Override public String toString() { return name().toLowerCase(Locale.ROOT); }
}
