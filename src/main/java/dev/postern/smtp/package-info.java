/**
 * The SMTP wire format, pure: command lines and their arguments (RFC 5321 4.1), ESMTP parameters,
 * reply formatting, CRLF line splitting with length limits, DATA dot-unstuffing and end detection,
 * and the SASL mechanisms (RFC 4954) as small state machines.
 *
 * <p>Never does: sockets, disk, DNS. Everything here is testable on byte arrays.
 */
package dev.postern.smtp;
