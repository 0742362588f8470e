package dev.postern.queue;

import dev.postern.mail.Envelope;

import java.util.List;

/** A message at rest in the spool: its id, envelope, per-recipient state and content size in octets. */
public record QueuedMessage(String id, Envelope envelope, List<RecipientState> recipients, long size) {
    public QueuedMessage {
        recipients = List.copyOf(recipients);
    }

    public QueuedMessage withRecipients(List<RecipientState> next) {
        return new QueuedMessage(id, envelope, next, size);
    }
}
