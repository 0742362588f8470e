package dev.postern.queue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Mail left in the queue store that is not the configured one (the default store changed from files to
 * log in an earlier release; an administrator may switch [queue] store): not served, so it is reported at
 * start instead of silently stranded.
 */
public final class OtherStores {
    private OtherStores() {}

    /** What lies unserved under queueDir with this store configured ("log", "files", "postgresql"), or null. */
    public static String unserved(Path queueDir, String configured) throws IOException {
        StringBuilder out = new StringBuilder();
        if (!configured.equals("files")) {
            long n = count(queueDir.resolve("active"), p -> {
                String f = p.getFileName().toString();
                return !f.contains(".");
            });
            if (n > 0) {
                out.append(n).append(" message").append(n == 1 ? "" : "s").append(" of the files store in ").append(queueDir.resolve("active"))
                        .append(" (set [queue] store = \"files\" to deliver them)");
            }
        }
        if (!configured.equals("log")) {
            long n = count(queueDir.resolve("log"), p -> Files.isRegularFile(p));
            if (n > 0) {
                if (out.length() > 0) out.append("; ");
                out.append(n).append(" segment").append(n == 1 ? "" : "s").append(" of the log store in ").append(queueDir.resolve("log"))
                        .append(" (set [queue] store = \"log\" to deliver what they hold)");
            }
        }
        return out.length() == 0 ? null : "not served with [queue] store = \"" + configured + "\": " + out;
    }

    private static long count(Path dir, java.util.function.Predicate<Path> which) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (var s = Files.list(dir)) {
            return s.filter(which).count();
        }
    }
}
