/**
 * The durable queue. Only this package writes queue state.
 *
 * <p>Invariant: a message becomes visible in the queue only after it is durable (fsync'd and renamed into
 * place; the group-commit log's fdatasync; or, in a cluster, the database COMMIT); only then does the
 * {@link Intake} complete, and only then does the receiver answer 250. On start, {@link Spool#recover()}
 * drops half-written messages and resumes the rest. State is kept per recipient; delivery agents return
 * outcomes and this package alone turns them into done, retry or failure.
 *
 * <p>One owner applies every change: {@link QueueManager} (a single node: every message in memory, a
 * priority queue by next attempt) or {@link ClusterQueue} (a cluster node: the messages it has leased from
 * the database). Both implement {@link Queue}, the only view the rest of Postern has.
 */
package dev.postern.queue;
