package dev.postern.admin;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The log's batching output: whole lines, every one, in each writer's order, soon, and at exit. */
class BatchingOutputStreamTest {

    /** A target that counts its writes and takes millisPerWrite for each, as a busy disk does. */
    static final class SlowTarget extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final AtomicInteger writes = new AtomicInteger();
        final long millisPerWrite;

        SlowTarget(long millisPerWrite) { this.millisPerWrite = millisPerWrite; }

        @Override public void write(int b) { bytes.write(b); }

        @Override public synchronized void write(byte[] b, int off, int len) {
            writes.incrementAndGet();
            bytes.write(b, off, len);
            try {
                Thread.sleep(millisPerWrite);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized String text() { return bytes.toString(StandardCharsets.US_ASCII); }
    }

    @Test void concurrentLinesArriveWholeInOrderAndInFewWrites() throws Exception {
        SlowTarget target = new SlowTarget(1);
        BatchingOutputStream out = new BatchingOutputStream(target, "test-log-writer");
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                for (int i = 0; i < 5000; i++) {
                    try {
                        out.write(("thread " + id + " line " + i + " " + "x".repeat(i % 50) + "\n").getBytes(StandardCharsets.US_ASCII));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) th.join();
        out.close();
        int[] next = new int[8];
        for (String line : target.text().split("\n")) {
            String[] f = line.split(" ");
            int t = Integer.parseInt(f[1]), i = Integer.parseInt(f[3]);
            assertThat(i).as("thread " + t + "'s lines in order").isEqualTo(next[t]);
            assertThat(line).isEqualTo("thread " + t + " line " + i + " " + "x".repeat(i % 50));
            next[t]++;
        }
        assertThat(next).containsOnly(5000);
        assertThat(target.writes.get()).as("writes for 40,000 lines").isLessThan(4000);
    }

    @Test void aLineReachesTheTargetWithoutAFlush() throws Exception {
        SlowTarget target = new SlowTarget(1);
        BatchingOutputStream out = new BatchingOutputStream(target, "test-log-writer");
        out.write("one quiet line\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 200 && target.text().isEmpty(); i++) Thread.sleep(10);
        assertThat(target.text()).isEqualTo("one quiet line\n");
        out.close();
    }

    @Test void writersWaitForASlowDiskRatherThanLoseLines() throws Exception {
        SlowTarget target = new SlowTarget(50);
        BatchingOutputStream out = new BatchingOutputStream(target, "test-log-writer");
        byte[] line = ("y".repeat(1023) + "\n").getBytes(StandardCharsets.US_ASCII);
        int lines = 3 * BatchingOutputStream.MAX_PENDING / line.length; // three buffers' worth
        for (int i = 0; i < lines; i++) out.write(line);
        out.close();
        assertThat(target.bytes.size()).isEqualTo(lines * line.length);
    }

    @Test void drainingAtExitWaitsForEveryLineWritten() throws Exception {
        SlowTarget target = new SlowTarget(100);
        BatchingOutputStream out = new BatchingOutputStream(target, "test-log-writer");
        for (int i = 0; i < 100; i++) {
            out.write(("line " + i + "\n").getBytes(StandardCharsets.US_ASCII));
            if (i % 10 == 0) Thread.sleep(5); // several batches, the last ones still pending
        }
        out.drain(); // what the shutdown hook runs
        assertThat(target.text().split("\n")).hasSize(100).endsWith("line 99");
        out.close();
    }

    @Test void aServerProcessThatExitsAtOnceStillWritesEveryLine(@TempDir Path dir) throws Exception {
        Path output = dir.resolve("out.log");
        assertThat(runWithServerLogging(LogThenExit.class, output)).isEqualTo(3);
        List<String> got = Files.readAllLines(output).stream().filter(l -> l.contains("line number")).toList();
        assertThat(got).hasSize(20_000);
        assertThat(got.get(19_999)).endsWith("line number 19999");
    }

    @Test void stoppingTheLogLeavesStandardOutputOpen(@TempDir Path dir) throws Exception {
        Path output = dir.resolve("out.log");
        runWithServerLogging(LogStopPrint.class, output);
        assertThat(Files.readString(output)).contains("logged before the stop").contains("printed after the stop");
    }

    /** Runs main in a JVM of its own with the server's logback.xml, output to a file; its exit status. */
    static int runWithServerLogging(Class<?> main, Path output) throws Exception {
        Process p = dev.postern.testing.TestJvm.java(java.util.List.of(dev.postern.testing.TestJvm.SERVER_LOGGING), main.getName())
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    /** Logs a line, stops logback (as a reset does), then prints to standard output. */
    public static final class LogStopPrint {
        public static void main(String[] args) {
            org.slf4j.LoggerFactory.getLogger("stop-test").info("logged before the stop");
            ((ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory()).stop();
            System.out.println("printed after the stop");
        }
    }

    /** Logs through logback.xml's appender, then exits before the log thread could have caught up. */
    public static final class LogThenExit {
        public static void main(String[] args) {
            org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("exit-test");
            for (int i = 0; i < 20_000; i++) log.info("line number {}", i);
            System.exit(3);
        }
    }
}
