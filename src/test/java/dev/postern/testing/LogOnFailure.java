package dev.postern.testing;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;

/**
 * Tests log to one file (logback-test.xml) so that a passing run prints little; when a test fails, the lines
 * logged while it ran (the last 400) are printed with its failure. Tests run one after another, so the lines
 * between a test's start and its end are its own, apart from stragglers of the test before.
 */
public final class LogOnFailure implements BeforeEachCallback, TestWatcher {
    static final Path LOG = Path.of(System.getProperty("postern.test.log", "target/test-logs/tests.log"));
    private static final int MAX_LINES = 400;

    @Override public void beforeEach(ExtensionContext context) throws IOException {
        context.getStore(ExtensionContext.Namespace.GLOBAL).put(LogOnFailure.class, Files.exists(LOG) ? Files.size(LOG) : 0L);
    }

    @Override public void testFailed(ExtensionContext context, Throwable cause) {
        Long from = context.getStore(ExtensionContext.Namespace.GLOBAL).get(LogOnFailure.class, Long.class);
        ArrayDeque<String> lines = new ArrayDeque<>();
        int dropped = 0;
        try (RandomAccessFile f = new RandomAccessFile(LOG.toFile(), "r")) {
            f.seek(from == null ? 0 : from);
            String line;
            while ((line = f.readLine()) != null) {
                lines.add(new String(line.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
                if (lines.size() > MAX_LINES) {
                    lines.removeFirst();
                    dropped++;
                }
            }
        } catch (IOException e) {
            System.out.println("(no test log: " + e + ")");
            return;
        }
        System.out.println("---- log of " + context.getDisplayName() + (dropped > 0 ? " (last " + MAX_LINES + " lines)" : "") + " from " + LOG);
        lines.forEach(System.out::println);
        System.out.println("---- end of log");
    }
}
