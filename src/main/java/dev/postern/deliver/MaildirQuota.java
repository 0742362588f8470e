package dev.postern.deliver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maildir++ quota (the "maildirsize" file Dovecot's quota plugin and Courier keep in a Maildir's root):
 * the first line is the limit ("10000000S,1000C": bytes and/or messages), every further line a change
 * "BYTES COUNT" whose sum is the usage. We read it before delivering and append our own line after,
 * as every Maildir++ deliverer must, so the reader's count stays right without a rescan.
 */
public final class MaildirQuota {
    public static final String FILE = "maildirsize";
    private static final Pattern LIMIT = Pattern.compile("(\\d+)([SC])");

    /** Limits (0 = none) and usage of one Maildir. */
    public record Usage(long limitBytes, long limitCount, long bytes, long count) {
        public boolean exceededBy(long size) {
            return (limitBytes > 0 && bytes + size > limitBytes) || (limitCount > 0 && count + 1 > limitCount);
        }
    }

    private MaildirQuota() {}

    /** The quota of a Maildir, or null when it has none (no maildirsize file, or no limit in it). */
    public static Usage read(Path maildir) throws IOException {
        Path f = maildir.resolve(FILE);
        if (!Files.exists(f)) return null; // the common case: one stat, no exception
        String text;
        try {
            text = Files.readString(f, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return null;
        }
        String[] lines = text.split("\n");
        long limitBytes = 0, limitCount = 0;
        Matcher m = LIMIT.matcher(lines[0]);
        while (m.find()) {
            if (m.group(2).equals("S")) limitBytes = Long.parseLong(m.group(1)); else limitCount = Long.parseLong(m.group(1));
        }
        if (limitBytes == 0 && limitCount == 0) return null;
        long bytes = 0, count = 0;
        for (int i = 1; i < lines.length; i++) {
            String[] d = lines[i].trim().split("\\s+");
            if (d.length != 2) continue; // a line being appended by another writer, or blank
            try {
                bytes += Long.parseLong(d[0]);
                count += Long.parseLong(d[1]);
            } catch (NumberFormatException e) {
                // not ours to judge; the owner recalculates the file when it finds it wrong
            }
        }
        return new Usage(limitBytes, limitCount, bytes, count);
    }

    /**
     * Counts one delivered message file in the maildirsize file {@link #read} found. The message is delivered
     * whatever happens here: a line that cannot be added leaves the count to the reader's next recalculation.
     */
    public static void record(Path maildir, Path delivered) {
        try {
            long size = Files.size(delivered);
            // one write of one short line with O_APPEND: concurrent deliverers' lines never interleave
            Files.write(maildir.resolve(FILE), (size + " 1\n").getBytes(StandardCharsets.US_ASCII), StandardOpenOption.APPEND);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger("postern.local").warn("cannot count a delivery in {}: {}", maildir.resolve(FILE), e.toString());
        }
    }
}
