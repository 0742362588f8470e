-- Postern cluster schema, version 3: each message's delivery priority class, written in the commit that
-- queues it, so that whichever node claims it starts a person's mail before bulk mail and keeps every
-- class's reserved share ([queue.classes]). Messages queued before this version count as relay.
ALTER TABLE queue_message ADD COLUMN priority text NOT NULL DEFAULT 'relay'
    CHECK (priority IN ('notices', 'submission', 'relay', 'bulk'));

-- claims ask per class for the earliest due messages; the index of version 1 served only claims
DROP INDEX queue_message_due;
CREATE INDEX queue_message_due_by_class ON queue_message (priority, next_attempt) WHERE NOT held AND next_attempt IS NOT NULL;
