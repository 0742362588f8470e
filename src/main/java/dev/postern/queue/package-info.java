/**
 * The durable queue. Only this package writes queue files.
 *
 * <p>Invariant: a message becomes visible in the queue only after its data and envelope are fsync'd
 * and renamed into place and the directory entry is fsync'd; only then does {@link Spool.Incoming#commit()}
 * return, and only then does the receiver answer 250. On start, {@link Spool#recover()} drops
 * half-written messages and resumes the rest. State is kept per recipient; delivery agents return
 * outcomes and this package alone turns them into done, retry or failure.
 */
package dev.postern.queue;
