/**
 * Listeners and SMTP sessions (RFC 5321 server side, with PIPELINING, CHUNKING, STARTTLS, AUTH).
 *
 * <p>The Netty event loop only parses and writes: spool I/O and password checks run on a worker
 * pool, and a session reads no further input while one is in flight. End of DATA (or the last BDAT)
 * is answered 250 only after the queue's commit returned. After STARTTLS the input buffer starts
 * empty: plaintext pipelined behind the command is dropped, never executed. MessageAuthentication runs
 * each message's SPF/DKIM/DMARC/ARC (policy and message do the work) and hands the queue the fields to
 * prepend; a refusal there is the end-of-data reply.
 */
package dev.postern.receive;
