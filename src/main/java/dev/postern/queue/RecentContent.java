package dev.postern.queue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The content of messages this node has just committed, bounded in bytes (oldest dropped first): the node
 * that receives a message usually delivers it within milliseconds, and need not read back what it wrote.
 * Only a cache: what is not here is read from the store.
 */
final class RecentContent {
    private record Content(byte[] prefix, byte[] body) {
        long bytes() { return (prefix == null ? 0 : prefix.length) + body.length; }
    }

    private final long maxBytes;
    private long bytes;
    private final LinkedHashMap<String, Content> entries = new LinkedHashMap<>();

    RecentContent(long maxBytes) { this.maxBytes = maxBytes; }

    synchronized void put(String id, byte[] prefix, byte[] body) {
        Content c = new Content(prefix, body);
        if (c.bytes() > maxBytes / 16) return;
        Content old = entries.put(id, c);
        if (old != null) bytes -= old.bytes();
        bytes += c.bytes();
        for (var it = entries.entrySet().iterator(); bytes > maxBytes && it.hasNext(); ) {
            Map.Entry<String, Content> e = it.next();
            bytes -= e.getValue().bytes();
            it.remove();
        }
    }

    synchronized InputStream open(String id) {
        Content c = entries.get(id);
        if (c == null) return null;
        InputStream body = new ByteArrayInputStream(c.body());
        return c.prefix() == null ? body : new SequenceInputStream(new ByteArrayInputStream(c.prefix()), body);
    }

    synchronized void remove(String id) {
        Content c = entries.remove(id);
        if (c != null) bytes -= c.bytes();
    }
}
