-- Postern cluster schema, version 1: the node registry and the queue.
-- The server must keep synchronous_commit on: Postern answers 250 once COMMIT has returned.

CREATE TABLE node (
    name      text PRIMARY KEY,
    started   timestamptz NOT NULL,
    heartbeat timestamptz NOT NULL,
    stopped   boolean NOT NULL DEFAULT false  -- shut down cleanly: its leases were given back
);

-- One row per queued message. The envelope is Postern's versioned envelope text (sender, ESMTP parameters,
-- recipients with their DSN parameters); a reader that meets a version it does not know refuses it.
CREATE TABLE queue_message (
    id           text PRIMARY KEY,
    envelope     text NOT NULL,
    size         bigint NOT NULL,
    arrival      timestamptz NOT NULL,
    received_by  text NOT NULL,
    held         boolean NOT NULL DEFAULT false,
    next_attempt timestamptz,             -- earliest due pending recipient; null when none is pending
    lease_owner  text,                    -- the node delivering it now, until lease_until
    lease_until  timestamptz,
    prefix       bytea                    -- header fields known after the body (Authentication-Results, DKIM-Signature)
);
CREATE INDEX queue_message_due ON queue_message (next_attempt) WHERE NOT held AND next_attempt IS NOT NULL;

-- Recipient and chunk rows are written and deleted with their message row, in the same statement or
-- transaction (no foreign keys: their per-row checks cost more than the rest of an insert).
CREATE TABLE queue_recipient (
    message_id   text NOT NULL,
    idx          int NOT NULL,
    status       text NOT NULL CHECK (status IN ('pending', 'deferred', 'delivered', 'failed')),
    attempts     int NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    last_reply   text,
    relay        text,
    delay_warned boolean NOT NULL DEFAULT false,
    PRIMARY KEY (message_id, idx)
);

-- Content in order, streamed in as it arrives and out as it is delivered: never whole in memory.
-- The message row is written last, in the same transaction as its chunks.
CREATE TABLE queue_chunk (
    message_id text NOT NULL,
    seq        int NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (message_id, seq)
);
