/**
 * Outbound transport security: the TLS level each destination requires ({@link dev.postern.tls.TlsPolicy}),
 * and whether a peer's certificate chain and names satisfy it ({@link dev.postern.tls.PeerVerifier}).
 * It never speaks SMTP: deliver asks it what a destination requires and what to make of a handshake.
 */
package dev.postern.tls;
