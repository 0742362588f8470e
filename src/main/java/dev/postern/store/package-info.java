/**
 * Cluster mode's shared store: the connection pool to the [cluster] database, its versioned schema
 * (migrations under resources db/postern, applied by {@code postern db migrate}) and the start-up check that
 * refuses a schema older or newer than this code. The PostgreSQL implementations of the queue and of shared
 * state live in their owning packages and take a {@link dev.postern.store.Database} from here. A single node's
 * small state files share {@link dev.postern.store.StateFiles}: replaced whole, and versioned by their first line.
 */
package dev.postern.store;
