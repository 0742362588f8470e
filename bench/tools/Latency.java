import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Acceptance latency under load, with a client that costs little CPU (one Netty event loop, epoll): CLIENTS
 * persistent SMTP connections each send MESSAGES/CLIENTS messages back to back; for every message, the
 * time from writing the end of data (".") to reading its reply. With --rate R, each client starts its transactions
 * on a schedule so that all of them together offer R messages/s (a latency at a given load, not at saturation).
 * With --warmup W, the first W messages (W/CLIENTS per client) are sent but their latencies not counted: this
 * client's own JVM compiles its code in the first seconds, on the same cores as the server. Run it with
 * -XX:TieredStopAtLevel=1 (as bench/run.sh does): with C2 as well, its compiler took 1.1–1.3 s of CPU during
 * 2.5 s of a measured saturated run, cores the server then lacked.
 * Prints "rate R p50_ms P p99_ms Q max_ms M"
 * (the first six fields as latency.py did). Loopback only; bounded by --messages.
 *
 *   java -cp target/postern.jar bench/tools/Latency.java --port 2525 [--clients 100] [--messages 5000] [--size 1024] [--rate 0] [--warmup 0]
 */
public final class Latency {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1", rcpt = "user@sink.test", from = "bench@source.test";
        int port = 0, clients = 100, messages = 5000, size = 1024, rate = 0, warmup = 0;
        boolean accept4xx = false;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host" -> host = args[i + 1];
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--clients" -> clients = Integer.parseInt(args[i + 1]);
                case "--messages" -> messages = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--rate" -> rate = Integer.parseInt(args[i + 1]); // offered msg/s over all clients; 0: back to back
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]); // sent first and not counted (this JVM's own JIT)
                case "--rcpt" -> rcpt = args[i + 1];
                case "--from" -> from = args[i + 1]; // "%d" becomes the client's number: one sender domain each
                case "--accept-4xx" -> accept4xx = Boolean.parseBoolean(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (!host.startsWith("127.") && !host.equals("::1")) throw new IllegalArgumentException("loopback only");
        int per = messages / clients, skip = warmup / clients;
        if (skip >= per) throw new IllegalArgumentException("--warmup must be below --messages");
        long[] latencies = new long[per * clients];
        AtomicInteger recorded = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(clients);
        StringBuilder body = new StringBuilder("Subject: latency\r\n\r\n");
        String sender = from, recipient = rcpt;
        boolean tolerate = accept4xx;
        long intervalNanos = rate > 0 ? clients * 1_000_000_000L / rate : 0;
        for (int i = 0; i < Math.max(1, size / 80); i++) body.append("x".repeat(78)).append("\r\n");
        String text = body + ".\r\n";

        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            long t0 = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                long firstSlot = t0 + intervalNanos * i / clients; // slots spread evenly over the clients
                String mailFrom = sender.replace("%d", String.valueOf(i));
                byte[] envelope = ("MAIL FROM:<" + mailFrom + ">\r\nRCPT TO:<" + recipient + ">\r\nDATA\r\n").getBytes(StandardCharsets.US_ASCII);
                byte[] content = ("From: <" + mailFrom + ">\r\n" + text).getBytes(StandardCharsets.US_ASCII);
                new Bootstrap().group(group).channel(EpollSocketChannel.class).option(ChannelOption.TCP_NODELAY, true)
                        .handler(new ChannelInitializer<SocketChannel>() {
                            @Override protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(new Client(per, skip, envelope, content, latencies, recorded, done, tolerate, firstSlot, intervalNanos));
                            }
                        }).connect(host, port).sync();
            }
            if (!done.await(10, TimeUnit.MINUTES)) throw new IllegalStateException("timed out");
            double seconds = (System.nanoTime() - t0) / 1e9;
            int n = recorded.get();
            long[] lat = Arrays.copyOf(latencies, n);
            Arrays.sort(lat);
            // the rate counts every message, warm-up included: it is the load the server carried
            System.out.printf("rate %.0f p50_ms %.2f p99_ms %.2f max_ms %.2f%n", per * clients / seconds, lat[n / 2] / 1e6, lat[(int) (n * 0.99)] / 1e6,
                    lat[n - 1] / 1e6);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** One connection: greeting, EHLO, then per message three replies to the pipelined envelope and one to the data. */
    static final class Client extends SimpleChannelInboundHandler<ByteBuf> {
        final int messages, skip;
        final byte[] envelope, content;
        final long[] latencies;
        final AtomicInteger recorded;
        final CountDownLatch done;
        final boolean accept4xx;
        final StringBuilder line = new StringBuilder();
        final long interval;
        int sent, repliesWanted = 1, stage; // 0 greeting, 1 EHLO, 2 envelope, 3 data, 4 QUIT
        long t0, slot;

        Client(int messages, int skip, byte[] envelope, byte[] content, long[] latencies, AtomicInteger recorded, CountDownLatch done, boolean accept4xx,
               long firstSlot, long interval) {
            this.slot = firstSlot;
            this.interval = interval;
            this.accept4xx = accept4xx;
            this.messages = messages;
            this.skip = skip;
            this.envelope = envelope;
            this.content = content;
            this.latencies = latencies;
            this.recorded = recorded;
            this.done = done;
        }

        @Override protected void channelRead0(ChannelHandlerContext ctx, ByteBuf in) {
            while (in.isReadable()) {
                char c = (char) in.readByte();
                if (c != '\n') {
                    line.append(c);
                    continue;
                }
                String l = line.toString();
                line.setLength(0);
                if (l.length() > 3 && l.charAt(3) == '-') continue; // a continuation line
                if (l.startsWith("5") || (l.startsWith("4") && !accept4xx)) throw new IllegalStateException("server said: " + l);
                if (--repliesWanted == 0) next(ctx.channel());
            }
        }

        private void next(Channel ch) {
            switch (stage) {
                case 0 -> send(ch, "EHLO bench.test\r\n".getBytes(StandardCharsets.US_ASCII), 1, 1);
                case 1, 3 -> {
                    if (stage == 3 && sent > skip) latencies[recorded.getAndIncrement()] = System.nanoTime() - t0;
                    if (sent++ < messages) {
                        // paced: the next transaction starts at its slot, or at once when the client is behind
                        long wait = interval == 0 ? 0 : slot - System.nanoTime();
                        slot += interval;
                        if (wait > 0) ch.eventLoop().schedule(() -> send(ch, envelope, 3, 2), wait, TimeUnit.NANOSECONDS);
                        else send(ch, envelope, 3, 2);
                    } else send(ch, "QUIT\r\n".getBytes(StandardCharsets.US_ASCII), 1, 4);
                }
                case 2 -> {
                    t0 = System.nanoTime();
                    send(ch, content, 1, 3);
                }
                default -> {
                    done.countDown();
                    ch.close();
                }
            }
        }

        private void send(Channel ch, byte[] b, int replies, int nextStage) {
            repliesWanted = replies;
            stage = nextStage;
            ch.writeAndFlush(Unpooled.wrappedBuffer(b));
        }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            System.err.println("client failed: " + cause);
            done.countDown();
            ctx.close();
        }
    }
}
