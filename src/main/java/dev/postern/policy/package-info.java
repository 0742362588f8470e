/**
 * Accept/reject decisions by SMTP phase. Today: relay control (RFC 5321 7.1, no open relay).
 * Checks return a reply to refuse with, or null to continue; they never touch the socket.
 */
package dev.postern.policy;
