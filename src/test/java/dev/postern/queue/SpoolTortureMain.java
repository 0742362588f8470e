package dev.postern.queue;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The process {@link SpoolKillLoopTest} kills over and over: it recovers the spool (checking every
 * recovered message's content and reporting it), finishes some of them, then commits messages from many
 * threads until it is killed, reporting each commit only after commit() returned and each removal only
 * after remove() returned.
 */
public final class SpoolTortureMain {
    private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    static byte[] content(String marker) {
        int n = 200 + Math.floorMod(marker.hashCode(), 40_000);
        StringBuilder sb = new StringBuilder("X-Marker: " + marker + "\r\n\r\n");
        while (sb.length() < n) sb.append(marker).append("\r\n");
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static synchronized void report(String line) {
        OUT.println(line);
    }

    public static void main(String[] args) throws Exception {
        // never outlive the test: exit when its pipe closes, and after a minute in any case
        Thread guard = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { /* wait for end of input */ }
            } catch (java.io.IOException ignored) {
                // the parent is gone
            }
            Runtime.getRuntime().halt(3);
        });
        guard.setDaemon(true);
        guard.start();
        Thread deadline = new Thread(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException ignored) {
                // halting anyway
            }
            Runtime.getRuntime().halt(4);
        });
        deadline.setDaemon(true);
        deadline.start();
        Path dir = Path.of(args[0]);
        Spool spool = args[1].equals("log") ? new LogSpool(dir, Clock.systemUTC(), 256 * 1024) : new FileSpool(dir, Clock.systemUTC());
        for (QueuedMessage m : spool.recover()) {
            byte[] c;
            try (var in = spool.openContent(m.id())) {
                c = in.readAllBytes();
            }
            String text = new String(c, StandardCharsets.US_ASCII);
            String marker = text.startsWith("X-Marker: ") ? text.substring(10, text.indexOf('\r')) : "?";
            report((java.util.Arrays.equals(c, content(marker)) ? "RECOVERED " : "BAD ") + marker);
            if (ThreadLocalRandom.current().nextBoolean()) {
                report("REMOVING " + marker);
                spool.remove(m.id());
                report("REMOVED " + marker);
            }
        }
        report("READY");
        Envelope env = new Envelope(new ReversePath(new Address("s", "remote.test")), List.of(new Recipient(new Address("r", "example.test"))),
                null, false, null, null, "h", "127.0.0.1", null, Instant.now());
        for (int t = 0; t < 16; t++) {
            new Thread(() -> {
                while (true) {
                    String marker = UUID.randomUUID().toString();
                    byte[] c = content(marker);
                    try {
                        Spool.Incoming in = spool.begin(env);
                        for (int off = 0; off < c.length; off += 4096) in.write(c, off, Math.min(4096, c.length - off));
                        QueuedMessage m = in.commit();
                        report("ACK " + marker);
                        if (ThreadLocalRandom.current().nextInt(3) == 0) {
                            report("REMOVING " + marker); // a kill from here on may or may not have removed it
                            spool.remove(m.id());
                            report("REMOVED " + marker);
                        }
                    } catch (Exception e) {
                        report("ERROR " + e);
                    }
                }
            }).start();
        }
        Thread.sleep(Long.MAX_VALUE);
    }
}
