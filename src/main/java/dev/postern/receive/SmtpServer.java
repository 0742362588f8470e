package dev.postern.receive;

import dev.postern.auth.Authenticator;
import dev.postern.config.Config;
import dev.postern.config.Config.Kind;
import dev.postern.policy.RelayControl;
import dev.postern.queue.Queue;
import dev.postern.route.Router;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Binds every configured listener and runs sessions on Netty (native epoll when available, else NIO). */
public final class SmtpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.smtpd");

    /** What new sessions get; a reload replaces it, sessions already open keep the one they started with. */
    private final java.util.concurrent.atomic.AtomicReference<ServerContext> current = new java.util.concurrent.atomic.AtomicReference<>();
    private final EventLoopGroup workers;
    private final ExecutorService blocking;
    private final ExecutorService passwordChecks;
    /** Bound listeners by name, with the settings they were bound with. */
    private final java.util.Map<String, Bound> channels = new java.util.LinkedHashMap<>();

    /** A listener's sockets: one per event loop with SO_REUSEPORT (epoll), else one. */
    private record Bound(Config.Listener listener, List<Channel> channels) {
        Channel channel() { return channels.get(0); }

        void close() { channels.forEach(c -> c.close().awaitUninterruptibly()); }
    }

    public SmtpServer(Config config, SslContext ssl, Authenticator authenticator, Router router,
                      dev.postern.policy.PolicyChain policy, Queue queue, Clock clock,
                      AuthServices auth, dev.postern.policy.AuthFailures authFailures,
                      java.util.function.Function<java.net.InetAddress, java.util.concurrent.CompletableFuture<String>> clientNames,
                      dev.postern.route.DnsReplay lookups, dev.postern.filter.Srs srs) {
        boolean epoll = Epoll.isAvailable();
        var factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        // one event loop per core, not Netty's two: nothing here blocks a loop, and a busier loop takes more
        // events per wake-up (bench: 6.6 → 4.7 thread switches per message at 20 clients)
        this.workers = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(), factory);
        AtomicInteger n = new AtomicInteger();
        // disk commits block on fsync; many threads let concurrent sessions fsync in parallel. Checks that ask
        // the DNS never run here: they run on the server's check executor through lookups (route.DnsReplay)
        this.blocking = Executors.newFixedThreadPool(32, r -> {
            Thread t = new Thread(r, "spool-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // as many password checks at once as there are cores: more would only queue for CPU, and hold memory
        this.passwordChecks = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(), r -> {
            Thread t = new Thread(r, "password-check");
            t.setDaemon(true);
            return t;
        });
        var limits = config.limits();
        current.set(new ServerContext(config, new java.util.concurrent.atomic.AtomicReference<>(ssl), authenticator, router, relayControl(config, router), policy,
                queue, blocking, new ConnectionLimiter(limits.maxConnections(), limits.maxConnectionsPerIp()),
                authFailures, clock, new java.util.concurrent.atomic.AtomicLong(), auth, clientNames, lookups, passwordChecks,
                config.milter() != null && config.milter().afterQueue() ? null : milters(config.milter()), srs,
                afterQueue(config, queue)));
        log.info("using {} transport", epoll ? "epoll" : "NIO");
    }

    /** [milter] after_queue: the milters see messages once they are queued; null otherwise. */
    private static AfterQueueFilter afterQueue(Config config, Queue queue) {
        if (config.milter() == null || !config.milter().afterQueue()) return null;
        try {
            return new AfterQueueFilter(milters(config.milter()), queue, config.dataDir().resolve("milter-pending.db"), config.hostname());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + config.dataDir().resolve("milter-pending.db"), e);
        }
    }

    /** [milter]: the milters every session consults, or null. */
    private static dev.postern.filter.Milters milters(Config.Milter m) {
        if (m == null) return null;
        return new dev.postern.filter.Milters(new dev.postern.filter.Milters.Settings(m.servers(),
                dev.postern.filter.Milters.DefaultAction.valueOf(m.defaultAction().toUpperCase(java.util.Locale.ROOT)),
                m.connectTimeout(), m.commandTimeout(), m.contentTimeout()));
    }

    private static RelayControl relayControl(Config config, Router router) {
        Path list = config.recipients().relayRecipients();
        try {
            return new RelayControl(router, config.relayNetworks(), list == null ? null : RelayControl.readRecipientList(list));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read relay_recipients " + list, e);
        }
    }

    private ServerContext context() { return current.get(); }

    /** New sessions (and STARTTLS in running ones) use this TLS context from now on; open TLS sessions keep theirs. */
    public void useTls(SslContext ssl) { context().tls().set(ssl); }

    /** Recipient existence and relaying rules, for wiring what later steps know (e.g. full mailboxes). */
    public RelayControl relayControl() { return context().relay(); }

    public void start() throws IOException {
        for (Config.Listener l : context().config().listeners()) {
            try {
                bind(l);
            } catch (IOException e) {
                close();
                throw e;
            }
        }
        if (context().afterQueue() != null) context().afterQueue().resume(); // what a stop left unfiltered
    }

    private void bind(Config.Listener l) throws IOException {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(l.host()), l.port());
        List<Channel> bound = new ArrayList<>();
        try {
            if (!Epoll.isAvailable()) {
                bound.add(bootstrap(l, workers, NioServerSocketChannel.class).bind(address).sync().channel());
            } else {
                // one listening socket per event loop (SO_REUSEPORT): the kernel spreads connections over them and
                // each loop serves what it accepted, so no connection is handed to another thread (a wake-up each)
                // SO_REUSEPORT would let these sockets join a port another process of this user holds with the
                // same option (a second Postern still running): a plain bind first refuses a taken port
                if (address.getPort() != 0) dev.postern.config.ConfigLoader.probeBind(address);
                for (var loop : workers) {
                    Channel c = bootstrap(l, (io.netty.channel.EventLoop) loop, EpollServerSocketChannel.class)
                            .option(io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT, true).bind(address).sync().channel();
                    bound.add(c);
                    address = (InetSocketAddress) c.localAddress(); // port 0: the others join the port the first got
                }
            }
        } catch (Exception e) {
            bound.forEach(c -> c.close().awaitUninterruptibly());
            throw new IOException("cannot listen on " + l.bind() + " (listeners." + l.name() + "): " + e.getMessage(), e);
        }
        synchronized (channels) {
            channels.put(l.name(), new Bound(l, List.copyOf(bound)));
        }
        log.info("listening on {} ({})", l.bind(), l.kind().name().toLowerCase());
    }

    private ServerBootstrap bootstrap(Config.Listener l, EventLoopGroup group, Class<? extends ServerChannel> channelClass) {
        return new ServerBootstrap().group(group, group).channel(channelClass)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override protected void initChannel(SocketChannel ch) {
                        ServerContext c = context(); // the configuration of the moment the client connected
                        if (l.proxyProtocol()) {
                            // behind a load balancer: the session starts once the PROXY header names the client
                            ch.pipeline().addLast(ProxyProtocol.handlers(l.proxyFrom(), c.config().limits().commandTimeout().toMillis(),
                                    ctx -> session(c, ch, l)));
                        } else {
                            session(c, ch, l);
                        }
                    }
                });
    }

    /**
     * A configuration reload: new sessions get the new configuration and policy; sessions already open finish
     * with the ones they started with. Listeners no longer configured stop accepting (their open sessions
     * go on), new ones are bound, changed ones are bound again. Returns the listeners that could not be bound.
     */
    public List<String> reconfigure(Config config, dev.postern.policy.PolicyChain policy, AuthServices auth) {
        ServerContext old = context();
        old.connections().limit(config.limits().maxConnections(), config.limits().maxConnectionsPerIp());
        current.set(old.reconfigured(config, relayControl(config, old.router()), policy, auth));
        List<String> problems = new ArrayList<>();
        java.util.Map<String, Config.Listener> wanted = new java.util.LinkedHashMap<>();
        for (Config.Listener l : config.listeners()) wanted.put(l.name(), l);
        List<Bound> stale = new ArrayList<>();
        synchronized (channels) {
            for (Bound b : channels.values()) {
                if (!b.listener().equals(wanted.get(b.listener().name()))) stale.add(b);
            }
        }
        for (Bound b : stale) { // closing a listening socket leaves the sessions it accepted open
            b.close();
            synchronized (channels) {
                channels.remove(b.listener().name());
            }
            log.info("stopped listening on {} ({})", b.listener().bind(), b.listener().name());
        }
        for (Config.Listener l : wanted.values()) {
            boolean bound;
            synchronized (channels) {
                bound = channels.containsKey(l.name());
            }
            if (bound) continue;
            try {
                bind(l);
            } catch (IOException e) {
                log.warn("reload: {}", e.getMessage());
                problems.add(e.getMessage());
            }
        }
        return problems;
    }

    private void session(ServerContext c, SocketChannel ch, Config.Listener l) {
        if (l.kind() == Kind.SMTPS) {
            // RFC 8314 3.3: TLS from the first byte
            var ssl = c.ssl().newHandler(ch.alloc());
            ssl.setHandshakeTimeoutMillis(c.config().limits().commandTimeout().toMillis());
            ch.pipeline().addLast("tls", ssl);
        }
        ch.pipeline().addLast("smtp", new SmtpSession(c, l));
    }

    /** Counters for the metrics endpoint. */
    public java.util.Map<String, Long> stats() {
        ServerContext context = context();
        java.util.Map<String, Long> out = new java.util.HashMap<>(context.policy().stats());
        if (context.auth() != null) out.putAll(context.auth().stats());
        if (context.milters() != null) out.putAll(context.milters().stats());
        if (context.srs() != null) out.putAll(context.srs().stats());
        out.put("postern_smtp_connections_open", (long) context.connections().open());
        out.put("postern_smtp_messages_accepted_total", context.accepted().get());
        return out;
    }

    /** The port a listener actually bound (useful when configured with port 0 in tests). */
    public int boundPort(String listenerName) {
        synchronized (channels) {
            Bound b = channels.get(listenerName);
            if (b == null) throw new IllegalArgumentException(listenerName);
            return ((InetSocketAddress) b.channel().localAddress()).getPort();
        }
    }

    @Override public void close() {
        List<Bound> all;
        synchronized (channels) {
            all = new ArrayList<>(channels.values());
        }
        for (Bound b : all) b.close();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        blocking.shutdown();
        passwordChecks.shutdown();
        ServerContext context = context();
        if (context.milters() != null) context.milters().close();
        if (context.afterQueue() != null) context.afterQueue().close();
    }
}
