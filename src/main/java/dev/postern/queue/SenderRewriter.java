package dev.postern.queue;

import dev.postern.mail.ReversePath;

/**
 * The envelope sender for mail a local alias forwards to another host (SRS: the receiver's SPF check then
 * sees our domain, not the original sender's). Returns the sender unchanged when it is not to be rewritten.
 */
public interface SenderRewriter {
    ReversePath forwarded(ReversePath sender);

    SenderRewriter NONE = s -> s;
}
