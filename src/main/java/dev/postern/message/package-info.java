/**
 * Header work on the raw message, streaming: the Received trace header this host adds (RFC 5321 4.4), the
 * scan of the incoming header section for loop detection (RFC 5321 6.3), the header section held until it
 * ends (so forged Authentication-Results can go), DKIM verification and signing (RFC 6376, RFC 8463), ARC
 * validation and sealing (RFC 8617), and the Authentication-Results field (RFC 8601). No network: keys come
 * through {@link dev.postern.message.DkimKeys.Resolver}, which the wiring answers from the DNS.
 */
package dev.postern.message;
