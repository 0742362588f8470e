/**
 * The shared vocabulary of the mail's path: addresses, envelopes, recipients, queue ids, replies.
 *
 * <p>Owns: value types only. Never does: I/O, or depend on any other Postern package.
 * Every other package may depend on this one; it depends on none of them.
 */
package dev.postern.mail;
