package dev.postern.receive;

import dev.postern.auth.Authenticator;
import dev.postern.config.Config;
import dev.postern.policy.RelayControl;
import dev.postern.queue.Queue;
import dev.postern.route.Router;
import io.netty.handler.ssl.SslContext;

import java.net.InetAddress;
import java.time.Clock;
import java.util.concurrent.ExecutorService;

/** What every session shares, wired once at start-up. */
record ServerContext(Config config, java.util.concurrent.atomic.AtomicReference<SslContext> tls, Authenticator authenticator, Router router, RelayControl relay,
                     dev.postern.policy.PolicyChain policy,
                     Queue queue, ExecutorService workers, ConnectionLimiter connections,
                     dev.postern.policy.AuthFailures authFailures, Clock clock, java.util.concurrent.atomic.AtomicLong accepted,
                     AuthServices auth, java.util.function.Function<InetAddress, java.util.concurrent.CompletableFuture<String>> clientNames,
                     dev.postern.route.DnsReplay lookups, ExecutorService passwordChecks, dev.postern.filter.Milters milters,
                     dev.postern.filter.Srs srs, AfterQueueFilter afterQueue) {

    /** The same context with what a configuration reload changes; everything that lives on (counters, pools) shared. */
    ServerContext reconfigured(Config next, RelayControl nextRelay, dev.postern.policy.PolicyChain nextPolicy, AuthServices nextAuth) {
        return new ServerContext(next, tls, authenticator, router, nextRelay, nextPolicy, queue, workers, connections, authFailures, clock,
                accepted, nextAuth, clientNames, lookups, passwordChecks, milters, srs, afterQueue);
    }

    /** The listeners' TLS context now: a new certificate (ACME renewal) applies to the next handshake. */
    SslContext ssl() { return tls.get(); }
}
