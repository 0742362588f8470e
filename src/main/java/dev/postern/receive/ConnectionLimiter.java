package dev.postern.receive;

import dev.postern.mail.Replies;
import dev.postern.mail.Reply;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Global and per-client-address connection counts. Memory is bounded by the global limit. */
final class ConnectionLimiter {
    private volatile int max;
    private volatile int maxPerIp;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perIp = new ConcurrentHashMap<>();

    ConnectionLimiter(int max, int maxPerIp) {
        this.max = max;
        this.maxPerIp = maxPerIp;
    }

    /** New limits (a configuration reload); connections already open stay and count. */
    void limit(int max, int maxPerIp) {
        this.max = max;
        this.maxPerIp = maxPerIp;
    }

    /** Null if the connection may proceed (and must later be released), else the 421 to send. */
    Reply acquire(InetAddress ip, boolean exemptFromPerIpLimit) {
        if (total.incrementAndGet() > max) {
            total.decrementAndGet();
            return Replies.TOO_MANY_CONNECTIONS;
        }
        AtomicInteger n = perIp.computeIfAbsent(ip, k -> new AtomicInteger());
        if (n.incrementAndGet() > maxPerIp && !exemptFromPerIpLimit) {
            release(ip);
            return Replies.TOO_MANY_CONNECTIONS_FROM_IP;
        }
        return null;
    }

    int open() { return total.get(); }

    void release(InetAddress ip) {
        total.decrementAndGet();
        perIp.computeIfPresent(ip, (k, v) -> v.decrementAndGet() <= 0 ? null : v);
    }
}
