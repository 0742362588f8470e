package dev.postern.receive;

import dev.postern.filter.FilteredMessage;
import dev.postern.filter.MilterSession;
import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;
import dev.postern.queue.Queue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A message on its way through the milters before the queue: the content held in a private file under
 * {@code <data_dir>/tmp} (written on the session's disk executor), handed to the milters at the end, and the
 * envelope they change. The file is deleted when the message is queued, refused or dropped.
 */
final class MilterStage {
    private final MilterSession milters;
    private final Path dir;
    private final Envelope envelope;
    private final Queue queue;
    private final Function<String, String> receivedHeader;
    private final Map<String, String> endMacros;
    private Path file;
    private OutputStream out;

    MilterStage(MilterSession milters, Path dir, Envelope envelope, Queue queue, Function<String, String> receivedHeader,
                Map<String, String> endMacros) {
        this.milters = milters;
        this.dir = dir;
        this.envelope = envelope;
        this.queue = queue;
        this.receivedHeader = receivedHeader;
        this.endMacros = endMacros;
    }

    Queue queue() { return queue; }

    Function<String, String> receivedHeader() { return receivedHeader; }

    /** On the disk executor: the file the content goes to until the milters have seen it. */
    void hold() throws IOException {
        Files.createDirectories(dir);
        file = Files.createTempFile(dir, "milter-", ".eml", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 64 * 1024);
    }

    void write(byte[] b) throws IOException { out.write(b); }

    /** Hands the held message to the milters (after the disk executor has written all of it). */
    CompletableFuture<MilterSession.Result> run() {
        try {
            out.close();
            Path f = file;
            return milters.message(FilteredMessage.read(() -> Files.newInputStream(f)), endMacros);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The envelope as the milters changed it: sender (SMFIR_CHGFROM), recipients added and removed. */
    Envelope envelope(MilterSession.Result r) throws IOException { return changed(envelope, r); }

    /** An envelope with the milters' changes applied. */
    static Envelope changed(Envelope envelope, MilterSession.Result r) throws IOException {
        ReversePath sender = envelope.sender();
        if (r.newSender() != null) sender = reversePath(r.newSender());
        List<Recipient> rcpts = new ArrayList<>(envelope.recipients());
        for (String gone : r.removedRecipients()) {
            String key = bare(gone).toLowerCase(Locale.ROOT);
            rcpts.removeIf(x -> x.address().toString().toLowerCase(Locale.ROOT).equals(key));
        }
        for (String added : r.addedRecipients()) {
            Address a = Address.parse(bare(added.split(" ", 2)[0]), true);
            if (a == null) throw new IOException("a milter added the malformed recipient " + added);
            if (rcpts.stream().noneMatch(x -> x.address().equals(a))) rcpts.add(new Recipient(a));
        }
        if (rcpts.isEmpty()) throw new IOException("the milters removed every recipient");
        return new Envelope(sender, rcpts, envelope.body(), envelope.smtpUtf8(), envelope.ret(), envelope.envid(), envelope.heloName(),
                envelope.clientAddress(), envelope.authUser(), envelope.arrival(), envelope.requireTls());
    }

    private static ReversePath reversePath(String s) throws IOException {
        String b = bare(s.split(" ", 2)[0]);
        if (b.isEmpty()) return ReversePath.NULL;
        Address a = Address.parse(b, true);
        if (a == null) throw new IOException("a milter set the malformed sender " + s);
        return new ReversePath(a);
    }

    private static String bare(String s) {
        String t = s.strip();
        return t.startsWith("<") && t.endsWith(">") ? t.substring(1, t.length() - 1) : t;
    }

    /** Deletes the held copy. Never throws. */
    void discard() {
        try {
            if (out != null) out.close();
        } catch (IOException ignored) {
            // closing a file we delete
        }
        try {
            if (file != null) Files.deleteIfExists(file);
        } catch (IOException e) {
            SmtpSession.log.warn("cannot delete {}: {}", file, e.toString());
        }
    }
}
