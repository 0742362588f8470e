package dev.postern.filter;

import dev.postern.filter.MilterProtocol.Options;
import dev.postern.filter.MilterProtocol.Packet;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connection to one milter, for one SMTP session: blocking I/O on the caller's thread (a milter thread,
 * never an event loop), every read bounded by a time-out after which the connection is closed.
 */
final class MilterConnection implements AutoCloseable {
    /** A milter's answer to one step: the deciding reply and, at end of message, the modifications before it. */
    record Answer(Packet reply, List<Packet> modifications) {}

    private final String name;
    private final SocketChannel channel;
    private final ScheduledExecutorService watchdog;
    private Options options;

    private MilterConnection(String name, SocketChannel channel, ScheduledExecutorService watchdog) {
        this.name = name;
        this.channel = channel;
        this.watchdog = watchdog;
    }

    String name() { return name; }

    Options options() { return options; }

    /** "inet:HOST:PORT" or "unix:/path": connects and negotiates options (SMFIC_OPTNEG). */
    static MilterConnection open(String spec, Duration connectTimeout, Duration commandTimeout, ScheduledExecutorService watchdog)
            throws IOException {
        SocketAddress address = address(spec);
        SocketChannel ch = SocketChannel.open(address instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX
                : ((InetSocketAddress) address).getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET);
        MilterConnection c = new MilterConnection(spec, ch, watchdog);
        ScheduledFuture<?> guard = watchdog.schedule(c::closeQuietly, connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            ch.connect(address);
        } catch (IOException e) {
            c.closeQuietly();
            throw new IOException("cannot connect to milter " + spec + ": " + e.getMessage(), e);
        } finally {
            guard.cancel(false);
        }
        c.send(MilterProtocol.OPTNEG, MilterProtocol.optionNegotiation(MilterProtocol.VERSION, MilterProtocol.ALL_ACTIONS,
                MilterProtocol.SUPPORTED_STEPS));
        Packet p = c.read(commandTimeout);
        if (p.command() != MilterProtocol.OPTNEG) {
            c.closeQuietly();
            throw new IOException("milter " + spec + " answered option negotiation with '" + (char) p.command() + "'");
        }
        Options offered = MilterProtocol.options(p.data());
        // the milter may only ask for steps and actions we offered (RFC-less, as libmilter negotiates)
        c.options = new Options(Math.min(offered.version(), MilterProtocol.VERSION), offered.actions() & MilterProtocol.ALL_ACTIONS,
                offered.steps() & MilterProtocol.SUPPORTED_STEPS);
        return c;
    }

    static SocketAddress address(String spec) {
        if (spec.startsWith("unix:")) return UnixDomainSocketAddress.of(Path.of(spec.substring(5)));
        if (spec.startsWith("inet:")) {
            String hp = spec.substring(5);
            int colon = hp.lastIndexOf(':');
            if (colon > 0) {
                String host = hp.substring(0, colon).replace("[", "").replace("]", "");
                try {
                    int port = Integer.parseInt(hp.substring(colon + 1));
                    if (port > 0 && port < 65536) return new InetSocketAddress(host, port);
                } catch (NumberFormatException ignored) {
                    // fall through
                }
            }
        }
        throw new IllegalArgumentException("expected \"inet:HOST:PORT\" or \"unix:/PATH\", got \"" + spec + "\"");
    }

    /** Sends the stage's macros (if any) and its command; reads the answer unless the milter said it sends none. */
    Answer step(byte command, byte[] data, Map<String, String> macros, boolean answered, Duration timeout) throws IOException {
        if (macros != null && !macros.isEmpty()) send(MilterProtocol.MACRO, MilterProtocol.macros(command, macros));
        send(command, data);
        if (!answered) return null;
        List<Packet> mods = new ArrayList<>();
        while (true) {
            Packet p = read(timeout);
            switch (p.command()) {
                case MilterProtocol.PROGRESS -> { } // SMFIR_PROGRESS: still working; the time-out starts over
                case MilterProtocol.ADD_HEADER, MilterProtocol.INSERT_HEADER, MilterProtocol.CHANGE_HEADER, MilterProtocol.REPLACE_BODY,
                     MilterProtocol.ADD_RCPT, MilterProtocol.ADD_RCPT_PAR, MilterProtocol.DEL_RCPT, MilterProtocol.CHANGE_FROM,
                     MilterProtocol.QUARANTINE -> {
                    if (command != MilterProtocol.END_OF_MESSAGE) throw new IOException("milter " + name + " sent a modification before end of message");
                    mods.add(p);
                }
                case MilterProtocol.CONTINUE, MilterProtocol.ACCEPT, MilterProtocol.REJECT, MilterProtocol.TEMPFAIL, MilterProtocol.DISCARD,
                     MilterProtocol.REPLY_CODE, MilterProtocol.SKIP -> {
                    return new Answer(p, mods);
                }
                default -> throw new IOException("milter " + name + " sent an unknown reply '" + printable(p.command()) + "'");
            }
        }
    }

    /** Without an answer: SMFIC_ABORT (the transaction ended without a message) or SMFIC_QUIT. */
    void tell(byte command) throws IOException { send(command, new byte[0]); }

    private void send(byte command, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(MilterProtocol.packet(command, data));
        while (b.hasRemaining()) channel.write(b);
    }

    private Packet read(Duration timeout) throws IOException {
        ScheduledFuture<?> guard = watchdog.schedule(this::closeQuietly, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            ByteBuffer len = readFully(4);
            int n = len.getInt();
            if (n < 1 || n > MilterProtocol.MAX_PACKET) throw new IOException("milter " + name + " sent a packet of " + n + " bytes");
            ByteBuffer body = readFully(n);
            byte cmd = body.get();
            byte[] data = new byte[n - 1];
            body.get(data);
            return new Packet(cmd, data);
        } catch (java.nio.channels.AsynchronousCloseException e) {
            throw new IOException("milter " + name + " did not answer within " + timeout.toSeconds() + " s", e);
        } finally {
            guard.cancel(false);
        }
    }

    private ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) throw new IOException("milter " + name + " closed the connection");
        }
        return b.flip();
    }

    private static String printable(byte b) {
        return b >= 32 && b < 127 ? String.valueOf((char) b) : String.format("0x%02x", b);
    }

    boolean isOpen() { return channel.isOpen(); }

    private void closeQuietly() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override public void close() {
        if (channel.isOpen()) {
            try {
                tell(MilterProtocol.QUIT);
            } catch (IOException ignored) {
                // the milter is gone already
            }
        }
        closeQuietly();
    }
}
