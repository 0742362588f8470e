package dev.postern.queue;

import dev.postern.mail.Envelope;
import dev.postern.mail.QueueId;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A spool in memory, for scheduler tests that need more messages than a disk makes quickly. Not durable. */
final class MemorySpool implements Spool {
    private final List<QueuedMessage> initial;
    final Map<String, byte[]> content = new ConcurrentHashMap<>();
    final Set<String> saved = ConcurrentHashMap.newKeySet();
    final Set<String> removed = ConcurrentHashMap.newKeySet();

    MemorySpool(List<QueuedMessage> initial) {
        this.initial = initial;
        for (QueuedMessage m : initial) content.put(m.id(), "Subject: t\r\n\r\nhi\r\n".getBytes());
    }

    @Override public Incoming begin(Envelope envelope) {
        String id = QueueId.next(System.currentTimeMillis());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        return new Incoming() {
            boolean held;
            @Override public String id() { return id; }
            @Override public void write(byte[] b, int off, int len) { out.write(b, off, len); }
            @Override public void prepend(byte[] fields) { throw new UnsupportedOperationException(); }
            @Override public void hold() { held = true; }
            @Override public QueuedMessage commit() {
                content.put(id, out.toByteArray());
                return new QueuedMessage(id, envelope, envelope.recipients().stream().map(RecipientState::fresh).toList(), out.size(), held);
            }
            @Override public void abort() { }
        };
    }

    @Override public List<QueuedMessage> recover() { return new ArrayList<>(initial); }

    @Override public InputStream openContent(String id) throws IOException {
        byte[] b = content.get(id);
        if (b == null) throw new IOException("no such message " + id);
        return new ByteArrayInputStream(b);
    }

    @Override public void saveState(QueuedMessage message) { saved.add(message.id()); }

    @Override public void remove(String id) { removed.add(id); }
}
