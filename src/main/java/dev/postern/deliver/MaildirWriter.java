package dev.postern.deliver;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Writes one message into a Maildir (https://cr.yp.to/proto/maildir.html): tmp/NAME, fsync, rename to
 * new/NAME, fsync new/. Names are derived from the queue id and mailbox, so a delivery repeated after a
 * crash finds its earlier copy and does not write a second one.
 */
public final class MaildirWriter {
    private final Path mailboxesRoot;
    private final String hostname;

    public MaildirWriter(Path mailboxesRoot, String hostname) {
        this.mailboxesRoot = mailboxesRoot;
        this.hostname = hostname.replace("/", "\\057").replace(":", "\\072");
    }

    /** The Maildir of a mailbox key "local@domain": mailboxes/DOMAIN/LOCAL/Maildir. */
    public Path maildirOf(String mailbox) {
        int at = mailbox.lastIndexOf('@');
        return mailboxesRoot.resolve(safe(mailbox.substring(at + 1))).resolve(safe(mailbox.substring(0, at))).resolve("Maildir");
    }

    /** File-system-safe form of one path element: anything beyond a plain set is %-escaped, so no "/" or "..". */
    static String safe(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '+' || (c == '.' && sb.length() > 0)) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    /** The unique Maildir name for this message in this mailbox. */
    public String uniqueName(long arrivalSeconds, String queueId, String mailbox) {
        return arrivalSeconds + ".Q" + queueId + "M" + Integer.toHexString(mailbox.hashCode() & 0x7fffffff) + "." + hostname;
    }

    /** True if a file of this name was already delivered (in new/, or moved to cur/ by a reader). */
    public boolean alreadyDelivered(String mailbox, String name) throws IOException {
        Path md = maildirOf(mailbox);
        if (Files.exists(md.resolve("new").resolve(name))) return true;
        Path cur = md.resolve("cur");
        if (!Files.isDirectory(cur)) return false;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(cur, name + "*")) {
            return ds.iterator().hasNext();
        }
    }

    /**
     * Delivers: "Return-Path" (RFC 5321 4.4, added at final delivery) and the content with line ends
     * converted to LF, the Maildir convention. Returns the path of the new file.
     */
    public Path deliver(String mailbox, String name, String returnPath, String deliveredTo, InputStream content) throws IOException {
        Path md = maildirOf(mailbox);
        Path tmpDir = Files.createDirectories(md.resolve("tmp"));
        Path newDir = Files.createDirectories(md.resolve("new"));
        Files.createDirectories(md.resolve("cur"));
        Path tmp = tmpDir.resolve(name);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
            out.write(("Return-Path: <" + returnPath + ">\nDelivered-To: " + deliveredTo + "\n").getBytes(StandardCharsets.UTF_8));
            copyToLf(content, out);
            out.flush();
            ch.force(true);                                  // 1. the message is on disk in tmp/
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error matters more
            }
            throw e;
        }
        Path target = newDir.resolve(name);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE); // 2. visible to readers whole
        try (FileChannel dir = FileChannel.open(newDir, StandardOpenOption.READ)) {
            dir.force(true);                                 // 3. the rename survives a crash
        }
        return target;
    }

    private static void copyToLf(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[64 * 1024];
        boolean pendingCr = false;
        int n;
        while ((n = in.read(buf)) > 0) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (pendingCr) {
                    pendingCr = false;
                    if (buf[i] != '\n') out.write('\r');
                }
                if (buf[i] == '\r') {
                    out.write(buf, start, i - start);
                    start = i + 1;
                    pendingCr = true;
                }
            }
            out.write(buf, start, n - start);
        }
        if (pendingCr) out.write('\r');
    }
}
