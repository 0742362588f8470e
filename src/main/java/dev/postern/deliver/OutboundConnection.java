package dev.postern.deliver;

import dev.postern.mail.Reply;
import dev.postern.route.Hop;
import dev.postern.smtp.DotStuffing;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One outbound SMTP connection on Netty. Network I/O (and TLS) runs on the event loop; the delivery
 * thread that owns the connection waits for replies with a time-out, so the protocol reads top to bottom.
 */
final class OutboundConnection implements AutoCloseable {
    private static final Object CLOSED = new Object();

    private final Channel channel;
    private final ReplyHandler handler;
    private final Hop hop;
    private final LinkedBlockingQueue<Object> queue;
    private final Duration writeTimeout;
    /** Notified by the event loop when the channel's writability changes. */
    private final Object writability;
    private boolean tls;

    private OutboundConnection(Channel channel, Hop hop, LinkedBlockingQueue<Object> queue, Duration writeTimeout, Object writability) {
        this.channel = channel;
        this.handler = channel.pipeline().get(ReplyHandler.class);
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
        if (o == null) throw new IOException(noReply(timeout, hop));
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

    /**
     * One pipelined transaction driven by the event loop (RFC 2920 3.1): the command group goes out; when its
     * {@code replies} replies are in and say go (first positive, one of the middle ones positive, the last
     * 354), the body follows at once and {@code finals} more replies are awaited (LMTP: one per accepted
     * recipient, RFC 2033 4.2). The delivery thread waits once, for the result: every reply received, the
     * finals included only if the body was sent. Without a go the body is released unsent and the caller
     * goes on with {@link #read} and {@link #send} as before.
     *
     * @param body dot-stuffed content with its terminating line (see {@link #stuffed}); released here
     */
    List<Reply> transact(String commands, int replies, ByteBuf body, boolean lmtp, Duration commandTimeout, Duration dataTimeout)
            throws IOException {
        if (!channel.isActive()) {
            body.release();
            throw new Lost("lost connection with " + hop, List.of());
        }
        Pending p = new Pending(replies, body, lmtp, dataTimeout, hop);
        ByteBuf out = Unpooled.copiedBuffer(commands + "\r\n", StandardCharsets.UTF_8);
        try {
            channel.eventLoop().execute(() -> {
                handler.pending = p;
                p.timer = channel.eventLoop().schedule(() -> handler.fail(p, noReply(commandTimeout, hop)),
                        commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!channel.isActive()) {
                    out.release();
                    handler.fail(p, "lost connection with " + hop);
                } else {
                    channel.writeAndFlush(out, channel.voidPromise());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) { // the client is shutting down
            out.release();
            body.release();
            throw new Lost("lost connection with " + hop + ": shutting down", List.of());
        }
        try {
            // the time-outs are the event loop's; this bound only guards against a loop that never answers
            return p.done.get(commandTimeout.plus(dataTimeout).toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new Lost("interrupted", p.got);
        } catch (java.util.concurrent.TimeoutException e) {
            close();
            throw new Lost("timeout waiting for " + hop, p.got);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Lost l ? l : new Lost(String.valueOf(e.getCause()), p.got);
        }
    }

    private static String noReply(Duration timeout, Hop hop) {
        return "timeout after " + timeout.toSeconds() + "s waiting for a reply from " + hop;
    }

    /** A transaction cut short; the replies that did arrive (none: the peer never answered). */
    static final class Lost extends IOException {
        final List<Reply> got;

        Lost(String message, List<Reply> got) {
            super(message);
            this.got = List.copyOf(got);
        }
    }

    /** A transaction in progress; touched only on the event loop, except {@code done}. */
    private static final class Pending {
        final List<Reply> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        final CompletableFuture<List<Reply>> done = new CompletableFuture<>();
        final boolean lmtp;
        final Duration dataTimeout;
        final Hop hop;
        int want;
        ByteBuf body;
        java.util.concurrent.ScheduledFuture<?> timer;

        Pending(int want, ByteBuf body, boolean lmtp, Duration dataTimeout, Hop hop) {
            this.hop = hop;
            this.want = want;
            this.body = body;
            this.lmtp = lmtp;
            this.dataTimeout = dataTimeout;
        }

        /** MAIL taken, some RCPT taken, DATA answered 354: the body may go. */
        int accepted() {
            if (!got.get(0).isPositive() || got.get(got.size() - 1).code() != 354) return 0;
            int n = 0;
            for (int i = 1; i < got.size() - 1; i++) if (got.get(i).isPositive()) n++;
            return n;
        }

        void releaseBody() {
            if (body != null) body.release();
            body = null;
        }
    }

    /** Content read whole, dot-stuffed (RFC 5321 4.5.2) and terminated, for {@link #transact}. */
    ByteBuf stuffed(InputStream content, long sizeHint) throws IOException {
        ByteBuf out = channel.alloc().buffer((int) Math.min(Integer.MAX_VALUE - 64, sizeHint + sizeHint / 32 + 8));
        try {
            byte[] in = scratch(sizeHint);
            boolean lineStart = true;
            byte last = '\n';
            int n;
            while ((n = content.read(in)) > 0) {
                lineStart = stuff(in, n, lineStart, out);
                last = in[n - 1];
            }
            out.writeBytes(terminator(last));
            return out;
        } catch (IOException | RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** A 1 KB message does not need a 64 KiB read buffer: it was most of the relay path's allocation. */
    private static byte[] scratch(long sizeHint) {
        return new byte[(int) Math.max(512, Math.min(64 * 1024, sizeHint + 64))];
    }

    private static final byte[] DOT_LINE = ".\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEW_DOT_LINE = "\r\n.\r\n".getBytes(StandardCharsets.US_ASCII);

    /** RFC 5321 4.1.1.4: the content ends with CRLF.CRLF; content without a final line end gets one first. */
    private static byte[] terminator(byte last) {
        return last == '\n' ? DOT_LINE : NEW_DOT_LINE;
    }

    /** Copies n bytes to out, doubling each dot that starts a line; returns whether the next byte starts one. */
    private static boolean stuff(byte[] in, int n, boolean lineStart, ByteBuf out) {
        return DotStuffing.stuff(in, n, lineStart, out::writeBytes);
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
        byte[] in = scratch(sizeHint);
        boolean lineStart = true;
        byte last = '\n';
        int n;
        while ((n = content.read(in)) > 0) {
            ByteBuf out = channel.alloc().buffer(n + n / 32 + 8);
            lineStart = stuff(in, n, lineStart, out);
            last = in[n - 1];
            write(out);
        }
        write(Unpooled.wrappedBuffer(terminator(last)));
    }

    @Override public void close() {
        channel.close();
    }

    private static final class ReplyHandler extends SimpleChannelInboundHandler<ByteBuf> {
        private final LinkedBlockingQueue<Object> out;
        /** The transaction the event loop is driving, if any; its replies go to it, not to the queue. */
        Pending pending;
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
                if (r == null) return;
                if (pending != null) next(ctx, pending, r);
                else out.offer(r);
            } catch (ReplyReader.MalformedReply e) {
                if (pending != null) fail(pending, e.getMessage());
                out.offer(e);
                ctx.close();
            }
        }

        private void next(ChannelHandlerContext ctx, Pending p, Reply r) {
            p.got.add(r);
            if (p.got.size() < p.want) return;
            p.timer.cancel(false);
            int accepted = p.body == null ? 0 : p.accepted();
            if (accepted > 0) {
                ByteBuf body = p.body;
                p.body = null;
                p.want += p.lmtp ? accepted : 1;
                p.timer = ctx.executor().schedule(() -> fail(p, noReply(p.dataTimeout, p.hop)),
                        p.dataTimeout.toMillis(), TimeUnit.MILLISECONDS);
                ctx.writeAndFlush(body, ctx.voidPromise());
                return;
            }
            pending = null;
            p.releaseBody();
            p.done.complete(List.copyOf(p.got));
        }

        /** Ends the transaction in progress with an error; the connection is of no further use. */
        void fail(Pending p, String why) {
            if (pending != p) return;
            pending = null;
            if (p.timer != null) p.timer.cancel(false);
            p.releaseBody();
            p.done.completeExceptionally(new Lost(why, p.got));
        }

        @Override public void channelInactive(ChannelHandlerContext ctx) {
            if (pending != null) fail(pending, "lost connection with " + pending.hop);
            out.offer(CLOSED);
            synchronized (writability) {
                writability.notifyAll();
            }
        }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (pending != null) fail(pending, "error talking to " + pending.hop + ": " + cause.getMessage());
            out.offer(cause);
            ctx.close();
        }
    }
}
