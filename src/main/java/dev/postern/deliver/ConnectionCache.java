package dev.postern.deliver;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Idle outbound sessions kept a few seconds for the next message to the same hop, as Postfix's
 * connection cache does. Entries older than the idle time are closed by the next take or offer.
 */
final class ConnectionCache {
    private record Idle(SmtpDelivery.Session session, long since) {}

    private final long maxIdleNanos;
    private final Map<String, ArrayDeque<Idle>> idle = new HashMap<>();

    ConnectionCache(Duration maxIdle) { this.maxIdleNanos = maxIdle.toNanos(); }

    SmtpDelivery.Session take(String key) {
        List<SmtpDelivery.Session> expired = new ArrayList<>();
        SmtpDelivery.Session found = null;
        synchronized (this) {
            expire(expired);
            ArrayDeque<Idle> q = idle.get(key);
            while (found == null && q != null && !q.isEmpty()) {
                Idle i = q.pollLast();
                if (i.session().conn.isOpen()) found = i.session(); else expired.add(i.session());
            }
        }
        expired.forEach(s -> s.conn.close());
        return found;
    }

    void offer(String key, SmtpDelivery.Session s) {
        List<SmtpDelivery.Session> expired = new ArrayList<>();
        synchronized (this) {
            expire(expired);
            idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(new Idle(s, System.nanoTime()));
        }
        expired.forEach(x -> x.conn.close());
    }

    private void expire(List<SmtpDelivery.Session> out) {
        long now = System.nanoTime();
        for (Iterator<ArrayDeque<Idle>> it = idle.values().iterator(); it.hasNext(); ) {
            ArrayDeque<Idle> q = it.next();
            while (!q.isEmpty() && now - q.peekFirst().since() > maxIdleNanos) out.add(q.pollFirst().session());
            if (q.isEmpty()) it.remove();
        }
    }

    void closeAll(Consumer<SmtpDelivery.Session> closer) {
        List<SmtpDelivery.Session> all = new ArrayList<>();
        synchronized (this) {
            idle.values().forEach(q -> q.forEach(i -> all.add(i.session())));
            idle.clear();
        }
        all.forEach(closer);
    }
}
