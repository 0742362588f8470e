package dev.postern.receive;

import dev.postern.mail.Cidr;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A listener behind a TCP load balancer: every connection starts with a PROXY protocol header (v1 text or v2
 * binary, as HAProxy sends it) naming the real client, which checks, rate limits, logs and Received then
 * see. Only the configured balancers may send one; a connection from anyone else, a malformed header, or no
 * header within the time limit is closed without a word. The SMTP session starts once the header is read.
 */
final class ProxyProtocol extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger("postern.smtpd");
    /** The client the balancer names; the session uses it instead of the connection's peer. */
    static final AttributeKey<InetAddress> CLIENT = AttributeKey.valueOf("postern.proxied-client");

    private final List<Cidr> balancers;
    private final long timeoutMillis;
    private final Consumer<ChannelHandlerContext> startSession;
    private ScheduledFuture<?> timeout;

    /** startSession adds the session's handlers after this one (they then see channelActive). */
    ProxyProtocol(List<Cidr> balancers, long timeoutMillis, Consumer<ChannelHandlerContext> startSession) {
        this.balancers = balancers;
        this.timeoutMillis = timeoutMillis;
        this.startSession = startSession;
    }

    /** The handlers a PROXY-protocol listener starts with. */
    static ChannelHandler[] handlers(List<Cidr> balancers, long timeoutMillis, Consumer<ChannelHandlerContext> startSession) {
        return new ChannelHandler[] {new HAProxyMessageDecoder(), new ProxyProtocol(balancers, timeoutMillis, startSession)};
    }

    @Override public void channelActive(ChannelHandlerContext ctx) {
        InetAddress peer = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        if (balancers.stream().noneMatch(c -> c.contains(peer))) {
            log.info("reject: connect from [{}]: not a configured load balancer (this listener takes the PROXY protocol only)",
                    peer.getHostAddress());
            ctx.close();
            return;
        }
        timeout = ctx.executor().schedule(() -> {
            log.info("reject: connect from [{}]: no PROXY header in time", peer.getHostAddress());
            ctx.close();
        }, timeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HAProxyMessage m)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        try {
            if (timeout != null) timeout.cancel(false);
            InetAddress client;
            if (m.command() == HAProxyCommand.LOCAL || m.sourceAddress() == null) {
                // the balancer speaking for itself (a health check): the connection's own peer
                client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
            } else {
                client = InetAddress.getByName(m.sourceAddress()); // a literal address: no lookup
            }
            ctx.channel().attr(CLIENT).set(client);
        } catch (UnknownHostException e) {
            log.info("reject: PROXY header from [{}] names no address: {}", remote(ctx), m.sourceAddress());
            ctx.close();
            return;
        } finally {
            m.release();
        }
        startSession.accept(ctx);
        ctx.fireChannelActive(); // the session starts now, as if the client had just connected
        ctx.pipeline().remove(this);
    }

    @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("reject: malformed PROXY header from [{}]: {}", remote(ctx), cause.getMessage());
        ctx.close();
    }

    private static String remote(ChannelHandlerContext ctx) {
        return ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
    }
}
