package dev.postern.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A single node's small state files: replaced whole (written beside, fsynced, renamed over), and, for the
 * line-oriented ones, a first line naming the format that a reader checks before it reads anything else.
 */
public final class StateFiles {
    private StateFiles() {}

    /** Writes content to tmp, fsyncs it, and renames it over target: the target is old or new, never torn. */
    public static void replace(Path tmp, byte[] content, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * As {@link #replace}, for secrets (keys, tokens): the new file is mode 0600 from its first byte, so the
     * secret is never readable by others, not even for a moment.
     */
    public static void replacePrivate(Path file, byte[] content) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        replace(tmp, content, file);
    }

    /** Replaces file with the format line and these lines (through FILE.tmp), creating its directory if needed. */
    public static void writeVersioned(Path file, String format, List<String> lines) throws IOException {
        StringBuilder sb = new StringBuilder(format).append('\n');
        for (String l : lines) sb.append(l).append('\n');
        Files.createDirectories(file.toAbsolutePath().getParent());
        replace(file.resolveSibling(file.getFileName() + ".tmp"), sb.toString().getBytes(StandardCharsets.UTF_8), file);
    }

    /**
     * The lines after the format line (line i of the result is line i + 2 of the file); empty when there is no
     * file. Another format is refused whole, never read in part: a newer release's state is not forgotten.
     *
     * @param remedy what the administrator may do instead, or null
     */
    public static List<String> readVersioned(Path file, String format, String remedy) throws IOException {
        if (!Files.exists(file)) return List.of();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals(format)) {
            throw new IOException(file + ": unknown format \"" + (lines.isEmpty() ? "" : lines.get(0)) + "\" (this release reads \""
                    + format + "\")" + (remedy == null ? "" : "; " + remedy));
        }
        return lines.subList(1, lines.size());
    }
}
