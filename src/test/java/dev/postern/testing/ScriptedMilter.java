package dev.postern.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A milter on loopback written for tests, speaking the server side of the protocol from its description:
 * it negotiates the actions and steps it is given, records every command and macro it receives, and
 * answers each command with what {@link #script} returns (raw packets, so that tests can send garbage).
 */
public final class ScriptedMilter implements AutoCloseable {
    /** One packet as received or to send: the command byte and its data. */
    public record Packet(char command, byte[] data) {
        public List<String> strings() {
            List<String> out = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < data.length; i++) {
                if (data[i] == 0) {
                    out.add(new String(data, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            if (start < data.length) out.add(new String(data, start, data.length - start, StandardCharsets.UTF_8));
            return out;
        }
    }

    public volatile int actions = 0x1ff;
    public volatile int steps = 0;
    /** The answer to each command (after option negotiation); null = send nothing (a milter that hangs); throwing hangs up. */
    public volatile Function<Packet, List<byte[]>> script = p -> List.of(reply('c'));
    public final List<Packet> received = Collections.synchronizedList(new ArrayList<>());
    public final Map<String, String> macros = new ConcurrentHashMap<>();
    public volatile int connections;

    private final ServerSocket server;

    public ScriptedMilter() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "scripted-milter");
        t.setDaemon(true);
        t.start();
    }

    public String spec() { return "inet:127.0.0.1:" + server.getLocalPort(); }

    /** The commands received, as characters, in order ("CHMRTLLNBE..."). */
    public String commands() {
        StringBuilder sb = new StringBuilder();
        synchronized (received) {
            for (Packet p : received) sb.append(p.command());
        }
        return sb.toString();
    }

    public static byte[] reply(char command, byte[]... parts) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (byte[] p : parts) data.writeBytes(p);
        ByteBuffer b = ByteBuffer.allocate(5 + data.size());
        b.putInt(data.size() + 1).put((byte) command).put(data.toByteArray());
        return b.array();
    }

    public static byte[] str(String... s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String x : s) {
            out.writeBytes(x.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    public static byte[] int32(int v) { return ByteBuffer.allocate(4).putInt(v).array(); }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections++;
                Thread t = new Thread(() -> serve(s), "scripted-milter-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; DataInputStream in = new DataInputStream(s.getInputStream()); DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
            while (true) {
                int len = in.readInt();
                char cmd = (char) in.readUnsignedByte();
                byte[] data = in.readNBytes(len - 1);
                if (cmd == 'O') {
                    out.write(reply('O', int32(6), int32(actions), int32(steps)));
                    out.flush();
                    continue;
                }
                Packet p = new Packet(cmd, data);
                received.add(p);
                if (cmd == 'D') {
                    List<String> kv = p.strings();
                    for (int i = 0; i + 1 < kv.size(); i += 2) macros.put(kv.get(i).substring(i == 0 ? 1 : 0), kv.get(i + 1));
                    continue;
                }
                if (cmd == 'Q') return;
                if (cmd == 'A') continue; // abort: no reply
                List<byte[]> answer = script.apply(p);
                if (answer == null) continue;
                for (byte[] a : answer) out.write(a);
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // the MTA went away, the test closed us, or a script hung up on purpose (it throws)
        }
    }

    @Override public void close() throws IOException { server.close(); }
}
