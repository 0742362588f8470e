-- Postern cluster schema, version 2: the state every node must agree on.

-- Accounts: any node's "postern user add" is seen by every node within a second.
CREATE TABLE account (
    address       text PRIMARY KEY,           -- lower-cased
    password_hash text NOT NULL,              -- Argon2id, PHC string
    cram          text NOT NULL,              -- CRAM-MD5 HMAC pad states
    updated       timestamptz NOT NULL
);
-- moves in the same transaction as any account change (a row, not a sequence: a sequence would move before
-- the commit, and a node reading it then would load the old accounts and never look again)
CREATE TABLE account_generation (
    id         int PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO account_generation VALUES (1, 0);

-- Greylisting: triplets (network|sender|recipient) and auto-whitelisted networks (net|network).
CREATE TABLE greylist (
    key          text PRIMARY KEY,
    first_seen   bigint NOT NULL,             -- epoch milliseconds
    passed_until bigint NOT NULL              -- epoch milliseconds; 0 until the triplet passed
);

-- Rate limits: events per key in fixed one-minute windows, whichever node saw them.
CREATE TABLE rate_counter (
    key    text NOT NULL,
    minute bigint NOT NULL,                   -- epoch minutes
    count  bigint NOT NULL,
    PRIMARY KEY (key, minute)
);

-- Failed AUTH per client address in a sliding window.
CREATE TABLE auth_failure (
    address text PRIMARY KEY,
    count   int NOT NULL,
    last    bigint NOT NULL                   -- epoch milliseconds of the latest failure
);

-- DMARC aggregate report data: one JSON row per evaluated message, whichever node evaluated it.
CREATE TABLE dmarc_row (
    day      date NOT NULL,                   -- UTC
    row_json text NOT NULL
);
CREATE INDEX dmarc_row_day ON dmarc_row (day);

-- Which node mails a finished day's reports (dmarc_reports_send): the first to claim the day, once.
CREATE TABLE dmarc_sent (
    day  date PRIMARY KEY,
    node text NOT NULL,
    sent timestamptz NOT NULL
);

-- Admin API tokens: each node's token (its SHA-256, never the token) is accepted by every node.
CREATE TABLE admin_token (
    node         text PRIMARY KEY,
    token_sha256 text NOT NULL,
    created      timestamptz NOT NULL
);
