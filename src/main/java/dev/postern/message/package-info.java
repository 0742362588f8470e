/**
 * Header work on the raw message, streaming: the Received trace header this host adds (RFC 5321 4.4),
 * and the scan of the incoming header section for loop detection (RFC 5321 6.3). No network.
 */
package dev.postern.message;
