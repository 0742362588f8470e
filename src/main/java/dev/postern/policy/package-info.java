/**
 * Every accept/reject decision, by SMTP phase (connect, helo, mail, rcpt, data). Each check is a small
 * named unit returning a {@link dev.postern.policy.Verdict}; the configured list of a phase runs in order
 * and the first verdict other than Continue wins, as Postfix's restriction lists do. Checks never write
 * replies or touch the socket; those that ask DNS say so, and the session runs them off the event loop.
 * Relaying needs reject_unauth_destination in the rcpt list, which the configuration cannot leave out.
 * Also here, as verdict material for the end of data: SPF (RFC 7208) and DMARC (RFC 7489) evaluation, and
 * the DMARC aggregate-report data and reports.
 */
package dev.postern.policy;
