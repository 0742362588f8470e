package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.config.Config.Kind;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.mail.ReversePath;
import dev.postern.message.ReceivedHeader;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.SpoolFull;
import dev.postern.smtp.CommandLine;
import dev.postern.smtp.DataDecoder;
import dev.postern.smtp.LineSplitter;
import dev.postern.smtp.sasl.SaslServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLSession;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * One SMTP connection: input framing (commands, DATA, BDAT chunks, SASL lines), time-outs, and the
 * hand-off to the spool. The verbs themselves are handled by {@link Commands}.
 */
final class SmtpSession extends ChannelInboundHandlerAdapter {
    static final Logger log = LoggerFactory.getLogger("postern.smtpd");

    /** RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF. */
    static final int MAX_COMMAND_LINE = 512;
    /** Like Postfix's smtpd_hard_error_limit: error replies in one session before we hang up (dictionary attacks). */
    static final int MAX_ERRORS = 20;
    /** Like Postfix's smtpd_junk_command_limit: NOOP, RSET, VRFY, EXPN and HELP in one session. */
    static final int MAX_JUNK_COMMANDS = 100;
    /** RFC 4954 4: AUTH lines may be longer; 12288 octets is the limit the RFC suggests. */
    static final int MAX_AUTH_LINE = 12288;
    private static final long HIGH_WATER = 1 << 20;
    private static final long LOW_WATER = 256 << 10;

    enum Mode { COMMAND, SASL, DATA, BDAT, CLOSED }

    final ServerContext server;
    final Config.Listener listener;
    final SerialExecutor disk;
    final Commands commands;
    ChannelHandlerContext ctx;
    InetAddress clientIp;
    volatile String clientName = "unknown"; // set by a worker thread once reverse DNS answers
    private ByteBuf input;
    private LineSplitter lines = new LineSplitter(MAX_AUTH_LINE);
    /** Scratch space shared by the sessions of one event-loop thread; nothing is kept in it between reads. */
    private static final ThreadLocal<byte[]> CHUNK = ThreadLocal.withInitial(() -> new byte[16 * 1024]);
    private static final ThreadLocal<byte[]> DECODED = ThreadLocal.withInitial(() -> new byte[16 * 1024 + 2]);
    Mode mode = Mode.COMMAND;
    private boolean busy;
    private boolean throttled;
    private boolean counted;
    private long lastActivity;
    private ScheduledFuture<?> timeout;
    private boolean wroteSomething;

    // session state (reset by STARTTLS)
    boolean esmtp;
    String helo;
    String authUser;
    boolean tls;
    int authFailures;
    int errors;
    int junkCommands;
    SaslServer sasl;

    // transaction state (reset by RSET, EHLO, end of message)
    ReversePath sender;
    java.util.Map<String, String> mailParams;
    final List<Recipient> recipients = new ArrayList<>();
    InboundMessage message;
    DataDecoder dataDecoder;
    long bdatRemaining;
    long bdatChunkSize;
    boolean bdatLast;
    boolean bdatUsed;
    boolean bdatDiscard;

    SmtpSession(ServerContext server, Config.Listener listener) {
        this.server = server;
        this.listener = listener;
        this.disk = new SerialExecutor(server.workers(), server.queue()::intakeMayBlock);
        this.commands = new Commands(this);
        this.tls = listener.kind() == Kind.SMTPS;
    }

    // ---------------------------------------------------------------- connection life cycle

    @Override public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.input = ctx.alloc().buffer(1024);
        // behind a load balancer, the client its PROXY header named
        InetAddress proxied = ctx.channel().attr(ProxyProtocol.CLIENT).get();
        this.clientIp = proxied != null ? proxied : ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        ctx.channel().config().setAutoRead(true);
        // as Postfix exempts $mynetworks, trusted relay networks have no per-address limit
        Reply refused = server.connections().acquire(clientIp, server.relay().isTrustedNetwork(clientIp));
        if (refused != null) {
            log.info("reject: connect from [{}]: {}", clientIp.getHostAddress(), refused);
            mode = Mode.CLOSED;
            ctx.writeAndFlush(Unpooled.copiedBuffer(refused.format(true), StandardCharsets.US_ASCII))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        counted = true;
        log.info("connect from [{}] on {} ({})", clientIp.getHostAddress(), listener.name(), listener.kind());
        // reverse DNS runs off the event loop; the Received header uses whatever is known by then.
        // Loopback is "localhost" without asking: it is what the lookup says, and local tools connect a lot.
        if (clientIp.isLoopbackAddress()) {
            clientName = "localhost";
        } else {
            server.clientNames().apply(clientIp).thenAccept(name -> {
                if (name != null) clientName = name;
            });
        }
        touch();
        scheduleTimeout();
        long pause = server.config().policy().greetPause().toMillis();
        if (pause > 0 && listener.kind() == Kind.SMTP && !server.relay().isTrustedNetwork(clientIp)) {
            // postscreen's pregreet test: RFC 5321 3.1 has the client wait for our greeting; bots often do not
            busy = true;
            ctx.executor().schedule(this::endGreetPause, pause, TimeUnit.MILLISECONDS);
            return;
        }
        greet();
    }

    private void endGreetPause() {
        busy = false;
        if (mode == Mode.CLOSED) return;
        if (input.isReadable()) {
            log.info("reject: CONNECT from {}[{}]: talked before the greeting", clientName, clientIp.getHostAddress());
            closeWith(Reply.of(554, "5.5.1", "Protocol error: you talked before my greeting"));
            return;
        }
        greet();
    }

    private void greet() {
        // RFC 5321 4.2 / 3.1: the greeting names this host; connect checks may refuse instead
        commands.decide(dev.postern.policy.Phase.CONNECT, facts(), "CONNECT", () -> {
            reply(Reply.of(220, null, server.config().hostname() + " ESMTP Postern"));
            flush();
        });
        process();
    }

    /** Frees this connection's slot; done as soon as we decide to close, so a client's next connection finds it. */
    private void releaseSlot() {
        if (counted) {
            counted = false;
            server.connections().release(clientIp);
        }
    }

    @Override public void channelInactive(ChannelHandlerContext ctx) {
        if (counted) log.info("disconnect from {}[{}]", clientName, clientIp.getHostAddress());
        releaseSlot();
        mode = Mode.CLOSED;
        if (message != null) message.abort();
        message = null;
        if (milter != null) milter.close();
        if (timeout != null) timeout.cancel(false);
        if (input != null) {
            input.release();
            input = null;
        }
    }

    @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("lost connection from {}[{}]: {}", clientName, clientIp == null ? "?" : clientIp.getHostAddress(), cause.toString());
        ctx.close();
    }

    @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (mode == Mode.CLOSED || input == null) return;
            input.writeBytes(in);
        } finally {
            in.release();
        }
        if (mode == Mode.DATA || mode == Mode.BDAT) touch();
        if (busy) {
            updateAutoRead(); // only buffer; the waiting work resumes processing
            return;
        }
        process();
    }

    // ---------------------------------------------------------------- input framing

    /** Consumes buffered input until it runs out or the session waits on other work. */
    void process() {
        while (!busy && mode != Mode.CLOSED && input != null && input.isReadable()) {
            switch (mode) {
                case COMMAND, SASL -> readLine();
                case DATA -> readData();
                case BDAT -> readChunk();
                default -> { }
            }
        }
        if (input != null && input.readerIndex() > 64 * 1024) input.discardReadBytes();
        flush();
        updateAutoRead();
    }

    private void readLine() {
        byte[] chunk = CHUNK.get();
        int n = Math.min(input.readableBytes(), chunk.length);
        input.getBytes(input.readerIndex(), chunk, 0, n);
        int used = lines.feed(chunk, 0, n);
        input.skipBytes(used);
        LineSplitter.Line line = lines.take();
        if (line == null) return;
        touch();
        if (mode == Mode.SASL) commands.saslLine(line);
        else commands.line(line);
    }

    private void readData() {
        byte[] chunk = CHUNK.get();
        byte[] decoded = DECODED.get();
        int n = Math.min(input.readableBytes(), chunk.length);
        input.getBytes(input.readerIndex(), chunk, 0, n);
        long r = dataDecoder.decode(chunk, 0, n, decoded);
        input.skipBytes((int) (r >>> 32));
        long unwritten = message.write(decoded, 0, (int) r);
        throttle(unwritten);
        if (dataDecoder.ended()) {
            mode = Mode.COMMAND;
            commands.endOfData();
        }
    }

    private void readChunk() {
        byte[] chunk = CHUNK.get();
        int n = (int) Math.min(Math.min(input.readableBytes(), bdatRemaining), chunk.length);
        input.readBytes(chunk, 0, n);
        bdatRemaining -= n;
        if (!bdatDiscard && message != null) throttle(message.write(chunk, 0, n));
        if (bdatRemaining == 0) {
            mode = Mode.COMMAND;
            commands.endOfChunk();
        }
    }

    private void throttle(long unwritten) {
        if (unwritten > HIGH_WATER && !throttled) {
            throttled = true;
            updateAutoRead();
            // re-check from the disk side once writes have drained
            disk.execute(() -> ctx.executor().execute(this::unthrottle));
        }
    }

    private void unthrottle() {
        if (message != null && message.unwritten() > LOW_WATER) {
            disk.execute(() -> ctx.executor().execute(this::unthrottle));
            return;
        }
        throttled = false;
        process();
    }

    /**
     * Reading pauses while disk writes lag (throttled) or while we wait on other work with a lot of
     * unprocessed input already buffered. A short wait (a commit) does not pause reads: toggling costs
     * two epoll_ctl calls, and a client that pipelines a little more while we wait is harmless.
     */
    private void updateAutoRead() {
        if (ctx == null || mode == Mode.CLOSED) return;
        boolean flooded = busy && input != null && input.readableBytes() > MAX_BUFFERED_WHILE_BUSY;
        ctx.channel().config().setAutoRead(!throttled && !flooded);
    }

    private static final int MAX_BUFFERED_WHILE_BUSY = 64 * 1024;

    /**
     * Runs blocking work (disk, password hashing) in order with this session's writes, then continues on
     * the event loop. No input is read meanwhile, so pipelined commands wait their turn.
     */
    <T> void offload(Callable<T> work, BiConsumer<T, Exception> then) {
        offloadAsync(() -> {
            try {
                return CompletableFuture.completedFuture(work.call());
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
        }, then);
    }

    /** A bug that throws must still answer the client, never leave the session waiting for ever. */
    private static <T> CompletableFuture<T> started(Supplier<CompletableFuture<T>> work) {
        try {
            return work.get();
        } catch (RuntimeException e) {
            log.error("internal error: {}", e.toString(), e);
            return CompletableFuture.failedFuture(e);
        }
    }

    /** As {@link #offload}, for work that finishes later by itself (a group commit waiting for its fsync). */
    <T> void offloadAsync(Supplier<CompletableFuture<T>> work, BiConsumer<T, Exception> then) {
        busy = true;
        disk.execute(() -> resume(started(work), then));
    }

    /**
     * Waits, reading no further commands, on work that completes elsewhere (checks waiting on the DNS, a
     * commit), then continues on the event loop.
     */
    <T> void await(CompletableFuture<T> work, BiConsumer<T, Exception> then) {
        busy = true;
        resume(work, then);
    }

    private <T> void resume(CompletableFuture<T> work, BiConsumer<T, Exception> then) {
        work.whenComplete((r, t) -> ctx.executor().execute(() -> {
            busy = false;
            if (mode == Mode.CLOSED) return;
            touch();
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            then.accept(r, cause == null ? null : cause instanceof Exception e ? e : new Exception(cause));
            process();
        }));
    }

    // ---------------------------------------------------------------- output

    /**
     * Enhanced status codes go on every reply that has one, before EHLO too, as Postfix does: RFC 2034
     * requires them after EHLO and clients that did not ask read them as text.
     */
    void reply(Reply r) {
        if (ctx == null) return;
        // no promise per reply: a failed write closes the connection through exceptionCaught
        ctx.write(Unpooled.copiedBuffer(r.format(true), StandardCharsets.UTF_8), ctx.voidPromise());
        wroteSomething = true;
        if (r.code() >= 400 && r.code() != 421 && mode != Mode.CLOSED && ++errors >= MAX_ERRORS) {
            log.info("too many errors from {}[{}]", clientName, clientIp.getHostAddress());
            closeWith(Replies.TOO_MANY_ERRORS);
        }
    }

    /** RFC 2920: replies to pipelined commands may be batched; we flush when input runs dry or we wait. */
    void flush() {
        if (wroteSomething && ctx != null) {
            wroteSomething = false;
            ctx.flush();
        }
    }

    void closeWith(Reply r) {
        log.info("disconnect from {}[{}]", clientName, clientIp.getHostAddress());
        releaseSlot();
        reply(r);
        mode = Mode.CLOSED;
        wroteSomething = false;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    // ---------------------------------------------------------------- transitions used by Commands

    void startData() {
        dataDecoder = new DataDecoder();
        mode = Mode.DATA;
    }

    void startChunk(long size, boolean last, boolean discard) {
        bdatChunkSize = size;
        bdatRemaining = size;
        bdatLast = last;
        bdatDiscard = discard;
        mode = Mode.BDAT;
        if (size == 0) {
            mode = Mode.COMMAND;
            commands.endOfChunk();
        }
    }

    /** RFC 3207 4.2: after the 220, discard everything buffered and start the handshake. */
    String bdatRemainingText() { return bdatChunkSize + " octets received"; }

    void startTls() {
        input.clear();
        lines = new LineSplitter(MAX_AUTH_LINE);
        // startTls=true: the 220 below still leaves in plaintext, everything after it is TLS
        SslHandler ssl = new SslHandler(server.ssl().newEngine(ctx.alloc()), true);
        ssl.setHandshakeTimeoutMillis(server.config().limits().commandTimeout().toMillis());
        ctx.pipeline().addFirst("tls", ssl);
        reply(Replies.READY_TLS);
        flush();
        resetSession();
        tls = true;
    }

    void resetSession() {
        esmtp = false;
        helo = null;
        authUser = null;
        sasl = null;
        resetTransaction();
    }

    /** This session's exchange with the [milter] servers (connected at the first use), or null without milters. */
    dev.postern.filter.MilterSession milters() {
        if (milter == null && server.milters() != null) {
            int port = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getPort() : 0;
            milter = server.milters().session(new SerialExecutor(server.milters().threads(), () -> true),
                    new dev.postern.filter.MilterSession.Client(clientIp, port, clientName, server.config().hostname()));
        }
        return milter;
    }

    private dev.postern.filter.MilterSession milter;

    void resetTransaction() {
        classes.newTransaction();
        if (sender != null && milter != null) milter.abort(); // SMFIC_ABORT: no message for this MAIL after all
        sender = null;
        mailParams = null;
        recipients.clear();
        if (message != null) message.abort();
        message = null;
        dataDecoder = null;
        bdatUsed = false;
    }

    /** "TLSv1.3 TLS_AES_128_GCM_SHA256" once a handshake has completed, else null. */
    String tlsDescription() {
        SslHandler h = ctx.pipeline().get(SslHandler.class);
        if (h == null) return null;
        SSLSession s = h.engine().getSession();
        return s == null || s.getProtocol() == null || s.getProtocol().equals("NONE") ? null
                : s.getProtocol() + " " + s.getCipherSuite();
    }

    /** RFC 3848 / RFC 6531 4.3: the "with" protocol name. */
    String protocolName(boolean utf8) {
        if (!esmtp) return "SMTP";
        String p = (utf8 ? "UTF8SMTP" : "ESMTP") + (tls ? "S" : "") + (authUser != null ? "A" : "");
        return p;
    }

    /** Priority classes the checks gave (an access file's "bulk"): the session's, and the current transaction's. */
    final dev.postern.policy.Classes classes = new dev.postern.policy.Classes();

    /** What policy checks may know at this point of the session. */
    dev.postern.policy.Facts facts() {
        var s = sender;
        return new dev.postern.policy.Facts(dev.postern.policy.Phase.CONNECT, clientIp, clientName, helo, authUser,
                s == null ? null : s.address(), s != null && s.isNull(), null, classes);
    }

    Envelope envelope() {
        var p = mailParams;
        return new Envelope(sender, recipients, p.get("BODY"), p.containsKey("SMTPUTF8"), p.get("RET"), p.get("ENVID"),
                helo, clientIp.getHostAddress(), authUser, server.clock().instant(), p.containsKey("REQUIRETLS"));
    }

    String receivedHeader(String queueId) {
        boolean utf8 = mailParams.containsKey("SMTPUTF8");
        String forRcpt = recipients.size() == 1 ? recipients.get(0).address().toString() : null;
        return ReceivedHeader.build(helo, clientName, clientIp.getHostAddress(), server.config().hostname(),
                protocolName(utf8), tlsDescription(), queueId, forRcpt, ZonedDateTime.now(server.clock()));
    }

    void accepted(QueuedMessage m, String authSummary) {
        log.info("{}: client={}[{}]{}", m.id(), clientName, clientIp.getHostAddress(),
                authUser == null ? "" : ", sasl_username=" + authUser);
        log.info("{}: from=<{}>, size={}, nrcpt={}", m.id(), m.envelope().sender(), m.size(), m.recipients().size());
        if (!authSummary.isEmpty()) log.info("{}: auth: {}", m.id(), authSummary);
        server.accepted().incrementAndGet();
    }

    static Reply diskErrorReply(Exception e) {
        return e instanceof SpoolFull ? Replies.INSUFFICIENT_STORAGE : Replies.LOCAL_ERROR;
    }

    // ---------------------------------------------------------------- time-outs

    void touch() { lastActivity = System.nanoTime(); }

    private void scheduleTimeout() {
        long limit = (mode == Mode.DATA || mode == Mode.BDAT ? server.config().limits().dataTimeout()
                : server.config().limits().commandTimeout()).toNanos();
        long wait = Math.max(0, lastActivity + limit - System.nanoTime());
        timeout = ctx.executor().schedule(this::checkTimeout, wait + 1_000_000, TimeUnit.NANOSECONDS);
    }

    private void checkTimeout() {
        if (mode == Mode.CLOSED) return;
        long limit = (mode == Mode.DATA || mode == Mode.BDAT ? server.config().limits().dataTimeout()
                : server.config().limits().commandTimeout()).toNanos();
        if (!busy && System.nanoTime() - lastActivity >= limit) {
            // RFC 5321 4.5.3.2: the server may close an idle session with 421
            log.info("timeout after {} from {}[{}]", mode, clientName, clientIp.getHostAddress());
            closeWith(Replies.IDLE_TIMEOUT);
            return;
        }
        if (busy) touch();
        scheduleTimeout();
    }
}
