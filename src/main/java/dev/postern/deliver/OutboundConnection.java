package dev.postern.deliver;

import dev.postern.mail.Reply;
import dev.postern.route.Hop;
import dev.postern.smtp.ReplyReader;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLSession;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One outbound SMTP connection on Netty. Network I/O (and TLS) runs on the event loop; the delivery
 * thread that owns the connection waits for replies with a time-out, so the protocol reads top to bottom.
 */
final class OutboundConnection implements AutoCloseable {
    private static final Object CLOSED = new Object();

    private final Channel channel;
    private final Hop hop;
    private final LinkedBlockingQueue<Object> queue;
    private final Duration writeTimeout;
    /** Notified by the event loop when the channel's writability changes. */
    private final Object writability;
    private boolean tls;

    private OutboundConnection(Channel channel, Hop hop, LinkedBlockingQueue<Object> queue, Duration writeTimeout, Object writability) {
        this.channel = channel;
        this.hop = hop;
        this.queue = queue;
        this.writeTimeout = writeTimeout;
        this.writability = writability;
    }

    static OutboundConnection open(EventLoopGroup group, Class<? extends Channel> channelClass, Hop hop,
                                   InetSocketAddress bind, Duration connectTimeout, Duration writeTimeout) throws IOException {
        LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
        Object writability = new Object();
        boolean unix = hop.isUnixSocket();
        if (unix && !Epoll.isAvailable()) throw new IOException("unix-domain sockets (" + hop + ") need Linux's epoll transport");
        Bootstrap b = new Bootstrap().group(group).channel(unix ? EpollDomainSocketChannel.class : channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis());
        if (!unix) b.option(ChannelOption.TCP_NODELAY, true);
        b.handler(new ChannelInitializer<>() {
                    @Override protected void initChannel(Channel ch) {
                        // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; we allow more from lenient peers
                        ch.pipeline().addLast("lines", new LineBasedFrameDecoder(8192));
                        ch.pipeline().addLast("replies", new ReplyHandler(replies, writability));
                    }
                });
        java.net.SocketAddress remote = unix ? new DomainSocketAddress(hop.socketPath()) : new InetSocketAddress(hop.address(), hop.port());
        var future = bind == null || unix ? b.connect(remote) : b.connect(remote, bind);
        if (!future.awaitUninterruptibly(connectTimeout.toMillis() + 1000) || !future.isSuccess()) {
            future.channel().close();
            Throwable c = future.cause();
            throw new IOException("connect to " + hop + " failed: " + (c == null ? "timed out" : c.getMessage()));
        }
        return new OutboundConnection(future.channel(), hop, replies, writeTimeout, writability);
    }

    Hop hop() { return hop; }

    boolean isOpen() { return channel.isActive(); }

    boolean isTls() { return tls; }

    /** Reads the next reply, waiting at most {@code timeout}. */
    Reply read(Duration timeout) throws IOException {
        Object o;
        try {
            o = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (o == null) throw new IOException("timeout after " + timeout.toSeconds() + "s waiting for a reply from " + hop);
        if (o == CLOSED) {
            queue.offer(CLOSED);
            throw new IOException("lost connection with " + hop);
        }
        if (o instanceof Throwable t) throw new IOException("error talking to " + hop + ": " + t.getMessage(), t);
        return (Reply) o;
    }

    Reply command(String line, Duration timeout) throws IOException {
        send(line);
        return read(timeout);
    }

    void send(String line) throws IOException {
        write(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.UTF_8));
    }

    /**
     * Hands bytes to the event loop without waiting for them to be written: a write that fails reaches
     * the reply handler, and so the next read. The thread waits only while the socket's outbound buffer
     * is over its high-water mark (large content), at most the write time-out.
     */
    private void write(ByteBuf b) throws IOException {
        if (!channel.isActive()) {
            b.release();
            throw new IOException("lost connection with " + hop + " while writing");
        }
        channel.writeAndFlush(b, channel.voidPromise());
        if (channel.isWritable()) return;
        long deadline = System.nanoTime() + writeTimeout.toNanos();
        synchronized (writability) {
            while (!channel.isWritable() && channel.isActive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    channel.close();
                    throw new IOException("timeout after " + writeTimeout.toSeconds() + "s writing to " + hop);
                }
                try {
                    writability.wait(Math.max(1, Math.min(100, left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
        }
        if (!channel.isActive()) throw new IOException("lost connection with " + hop + " while writing");
    }

    /** RFC 3207: after the peer's 220, handshake; the caller says EHLO again and judges the certificate, if its level asks. */
    void startTls(SslContext context, Duration timeout) throws IOException {
        if (!channel.isActive()) throw new IOException("lost connection with " + hop + " before the TLS handshake");
        SslHandler ssl = hop.isUnixSocket() ? context.newHandler(channel.alloc()) : context.newHandler(channel.alloc(), hop.host(), hop.port());
        ssl.setHandshakeTimeoutMillis(timeout.toMillis());
        channel.pipeline().addFirst("tls", ssl);
        var f = ssl.handshakeFuture();
        // bounded wait: a peer that hangs up mid-handshake must not hold this delivery thread forever
        if (!f.awaitUninterruptibly(timeout.toMillis() + 1000) || !f.isSuccess()) {
            channel.close();
            throw new IOException("TLS handshake with " + hop + " failed: " + (f.cause() == null ? "timed out" : f.cause().getMessage()));
        }
        tls = true;
    }

    /** The peer's certificate chain after a handshake, leaf first; empty when there is none. */
    java.security.cert.Certificate[] peerCertificates() {
        SslHandler h = channel.pipeline().get(SslHandler.class);
        if (h == null) return new java.security.cert.Certificate[0];
        try {
            return h.engine().getSession().getPeerCertificates();
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return new java.security.cert.Certificate[0];
        }
    }

    String tlsDescription() {
        SslHandler h = channel.pipeline().get(SslHandler.class);
        if (h == null) return null;
        SSLSession s = h.engine().getSession();
        return s.getProtocol() + " " + s.getCipherSuite();
    }

    /**
     * Sends message content with dot-stuffing (RFC 5321 4.5.2) and the terminating CRLF.CRLF, in 64 KiB
     * pieces; the thread waits while the socket is behind, so memory stays bounded whatever the message size.
     */
    void sendData(InputStream content, long sizeHint) throws IOException {
        // a 1 KB message does not need a 64 KiB scratch buffer: it was most of the relay path's allocation
        byte[] in = new byte[(int) Math.max(512, Math.min(64 * 1024, sizeHint + 64))];
        boolean lineStart = true;
        byte last = '\n';
        int n;
        while ((n = content.read(in)) > 0) {
            ByteBuf out = channel.alloc().buffer(n + n / 32 + 8);
            // RFC 5321 4.5.2: a line that starts with "." gets another; runs between such dots are copied whole
            int from = 0;
            for (int i = 0; i < n; i++) {
                if (lineStart && in[i] == '.') {
                    out.writeBytes(in, from, i - from).writeByte('.');
                    from = i;
                }
                lineStart = in[i] == '\n';
            }
            out.writeBytes(in, from, n - from);
            last = in[n - 1];
            write(out);
        }
        write(Unpooled.copiedBuffer(last == '\n' ? ".\r\n" : "\r\n.\r\n", StandardCharsets.US_ASCII));
    }

    @Override public void close() {
        channel.close();
    }

    private static final class ReplyHandler extends SimpleChannelInboundHandler<ByteBuf> {
        private final LinkedBlockingQueue<Object> out;
        private final Object writability;
        private final ReplyReader reader = new ReplyReader();

        ReplyHandler(LinkedBlockingQueue<Object> out, Object writability) {
            this.out = out;
            this.writability = writability;
        }

        @Override public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            synchronized (writability) {
                writability.notifyAll();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            String s = line.toString(StandardCharsets.UTF_8);
            if (s.endsWith("\r")) s = s.substring(0, s.length() - 1);
            try {
                Reply r = reader.line(s);
                if (r != null) out.offer(r);
            } catch (ReplyReader.MalformedReply e) {
                out.offer(e);
                ctx.close();
            }
        }

        @Override public void channelInactive(ChannelHandlerContext ctx) {
            out.offer(CLOSED);
            synchronized (writability) {
                writability.notifyAll();
            }
        }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            out.offer(cause);
            ctx.close();
        }
    }
}
