/**
 * Accounts and credential checks. Passwords are stored as Argon2id hashes ({@link dev.postern.auth.PasswordHash});
 * for CRAM-MD5 the store keeps the two HMAC-MD5 pad states (as Dovecot does), which never reveal the
 * password but do let anyone holding the file authenticate with CRAM-MD5 — the file is therefore written 0600.
 *
 * <p>Never does: sockets or SMTP replies. The receive package asks {@link Authenticator} yes or no.
 */
package dev.postern.auth;
