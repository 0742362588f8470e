package dev.postern.filter;

import dev.postern.filter.MilterConnection.Answer;
import dev.postern.filter.MilterProtocol.Packet;
import dev.postern.mail.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One SMTP session's exchange with the configured milters, in order: connections opened at the first
 * step, every step sent to every milter that wants it, the first refusal deciding. At the end of a message
 * each milter sees the message as the ones before it left it. Every call runs on the session's serial
 * executor, so steps never interleave on a connection.
 */
public final class MilterSession implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.milter");

    /** Who the client is, for SMFIC_CONNECT and the macros. */
    public record Client(InetAddress address, int port, String name, String hostname) {}

    /** A step's outcome: go on (refusal null), refuse with the reply, or (at end of message) accept and drop it. */
    public record Verdict(Reply refusal, boolean discard) {
        public static final Verdict CONTINUE = new Verdict(null, false);
    }

    /**
     * The end of a message: the verdict; the message as the milters left it; envelope changes as milters
     * sent them ("&lt;addr&gt;" strings, ESMTP arguments after a space); a quarantine (hold) reason or null.
     */
    public record Result(Verdict verdict, FilteredMessage message, String newSender, List<String> addedRecipients,
                         List<String> removedRecipients, String quarantine) {}

    private final Milters milters;
    private final Executor serial;
    private final Client client;
    private final List<Entry> entries = new ArrayList<>();
    private boolean connected;
    private boolean inTransaction;

    /** One milter's state in this session. */
    private static final class Entry {
        final String spec;
        MilterConnection conn;
        boolean done;          // failed with default_action accept, or accepted the whole connection
        boolean messageDone;   // accepted this message

        Entry(String spec) { this.spec = spec; }
    }

    MilterSession(Milters milters, Executor serial, Client client) {
        this.milters = milters;
        this.serial = serial;
        this.client = client;
        for (String s : milters.settings().servers()) entries.add(new Entry(s));
    }

    private <T> CompletableFuture<T> run(java.util.function.Supplier<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        serial.execute(() -> {
            try {
                f.complete(work.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** SMFIC_CONNECT (the first time), then SMFIC_HELO. */
    public CompletableFuture<Verdict> helo(String helo, Map<String, String> macros) {
        return run(() -> {
            Verdict v = connectOnce();
            if (v.refusal() != null) return v;
            return each(MilterProtocol.HELO, MilterProtocol.strings(helo), macros, MilterProtocol.NO_HELO, MilterProtocol.NR_HELO, false);
        });
    }

    /** SMFIC_MAIL with the reverse path ("&lt;a@b&gt;") and its ESMTP parameters. */
    public CompletableFuture<Verdict> mail(String reversePath, List<String> params, Map<String, String> macros) {
        return run(() -> {
            Verdict v = connectOnce();
            if (v.refusal() != null) return v;
            inTransaction = true;
            for (Entry e : entries) e.messageDone = false;
            List<String> args = new ArrayList<>(List.of(reversePath));
            args.addAll(params);
            return each(MilterProtocol.MAIL, MilterProtocol.strings(args.toArray(String[]::new)), macros, MilterProtocol.NO_MAIL,
                    MilterProtocol.NR_MAIL, true);
        });
    }

    public CompletableFuture<Verdict> rcpt(String forwardPath, List<String> params, Map<String, String> macros) {
        return run(() -> {
            List<String> args = new ArrayList<>(List.of(forwardPath));
            args.addAll(params);
            return each(MilterProtocol.RCPT, MilterProtocol.strings(args.toArray(String[]::new)), macros, MilterProtocol.NO_RCPT,
                    MilterProtocol.NR_RCPT, true);
        });
    }

    public CompletableFuture<Verdict> data(Map<String, String> macros) {
        return run(() -> each(MilterProtocol.DATA, new byte[0], macros, MilterProtocol.NO_DATA, MilterProtocol.NR_DATA, true));
    }

    /** Header fields, end of headers, body chunks, end of message, for each milter in turn; modifications applied as they come. */
    public CompletableFuture<Result> message(FilteredMessage message, Map<String, String> macros) {
        return run(() -> {
            Changes changes = new Changes(message);
            Verdict verdict = Verdict.CONTINUE;
            for (Entry e : entries) {
                if (e.done || e.messageDone || e.conn == null) continue;
                try {
                    Verdict v = content(e, changes, macros);
                    if (v.refusal() != null || v.discard()) {
                        verdict = v;
                        break;
                    }
                } catch (IOException ex) {
                    Verdict v = failed(e, ex);
                    if (v.refusal() != null) {
                        verdict = v;
                        break;
                    }
                }
            }
            inTransaction = false; // a milter resets itself after end of message
            return new Result(verdict, message, changes.sender, changes.added, changes.removed, changes.quarantine);
        });
    }

    /** The transaction ended without a message (RSET, a new MAIL, an error): SMFIC_ABORT. */
    public void abort() {
        run(() -> {
            if (!inTransaction) return null;
            inTransaction = false;
            for (Entry e : entries) {
                if (e.conn == null || !e.conn.isOpen()) continue;
                try {
                    e.conn.tell(MilterProtocol.ABORT);
                } catch (IOException ex) {
                    failed(e, ex);
                }
            }
            return null;
        });
    }

    @Override public void close() {
        run(() -> {
            for (Entry e : entries) if (e.conn != null) e.conn.close();
            return null;
        });
    }

    // ---------------------------------------------------------------- steps

    private Verdict connectOnce() {
        if (connected) return Verdict.CONTINUE;
        connected = true;
        Milters.Settings s = settings();
        for (Entry e : entries) {
            try {
                e.conn = MilterConnection.open(e.spec, s.connectTimeout(), s.commandTimeout(), milters.watchdog());
            } catch (IOException | RuntimeException ex) {
                Verdict v = failed(e, ex instanceof IOException io ? io : new IOException(ex));
                if (v.refusal() != null) return v;
            }
        }
        Map<String, String> macros = new LinkedHashMap<>();
        macros.put("j", client.hostname());
        macros.put("{daemon_name}", "postern");
        macros.put("v", "Postern");
        macros.put("_", client.name() + " [" + (client.address() == null ? "unknown" : client.address().getHostAddress()) + "]");
        if (client.address() != null) {
            macros.put("{client_addr}", client.address().getHostAddress());
            macros.put("{client_port}", String.valueOf(client.port()));
        }
        macros.put("{client_name}", client.name());
        return each(MilterProtocol.CONNECT, MilterProtocol.connect(client.name(), client.address(), client.port()), macros,
                MilterProtocol.NO_CONNECT, MilterProtocol.NR_CONNECT, false);
    }

    private Milters.Settings settings() { return milters.settings(); }

    /** One step to every milter that takes part; the first refusal decides. messageStep: an ACCEPT ends this milter's part in the message only. */
    private Verdict each(byte command, byte[] data, Map<String, String> macros, int notWanted, int noReply, boolean messageStep) {
        for (Entry e : entries) {
            if (e.done || e.conn == null || (messageStep && e.messageDone)) continue;
            if (e.conn.options().has(notWanted)) continue;
            try {
                Answer a = e.conn.step(command, data, macros, !e.conn.options().has(noReply), settings().commandTimeout());
                if (a == null) continue;
                Verdict v = verdict(e, a.reply(), messageStep);
                if (v.refusal() != null) return v;
            } catch (IOException ex) {
                Verdict v = failed(e, ex);
                if (v.refusal() != null) return v;
            }
        }
        return Verdict.CONTINUE;
    }

    private Verdict verdict(Entry e, Packet reply, boolean messageStep) {
        switch (reply.command()) {
            case MilterProtocol.ACCEPT -> {
                milters.count(e.spec, "accept");
                if (messageStep) e.messageDone = true;
                else e.done = true;
                return Verdict.CONTINUE;
            }
            case MilterProtocol.REJECT -> {
                milters.count(e.spec, "reject");
                return new Verdict(Milters.REJECTED, false);
            }
            case MilterProtocol.TEMPFAIL -> {
                milters.count(e.spec, "tempfail");
                return new Verdict(Milters.TEMPFAILED, false);
            }
            case MilterProtocol.REPLY_CODE -> {
                Reply r = replyCode(reply.text());
                milters.count(e.spec, r == null ? "garbage" : r.code() >= 500 ? "reject" : "tempfail");
                return new Verdict(r == null ? Milters.TEMPFAILED : r, false);
            }
            case MilterProtocol.DISCARD -> {
                milters.count(e.spec, "discard");
                if (messageStep) return new Verdict(null, true);
                e.done = true; // a discard outside a message is an accept, as Postfix takes it
                return Verdict.CONTINUE;
            }
            default -> {
                return Verdict.CONTINUE; // continue, or skip
            }
        }
    }

    /** Header, end of headers, body and end of message to one milter. */
    private Verdict content(Entry e, Changes changes, Map<String, String> macros) throws IOException {
        MilterConnection c = e.conn;
        var o = c.options();
        Duration content = settings().contentTimeout();
        if (!o.has(MilterProtocol.NO_HEADERS)) {
            for (FilteredMessage.Field f : changes.message.fields()) {
                Answer a = c.step(MilterProtocol.HEADER, MilterProtocol.strings(f.name(), f.forMilter(o.has(MilterProtocol.HEADER_LEADING_SPACE))),
                        null, !o.has(MilterProtocol.NR_HEADER), settings().commandTimeout());
                if (a != null && a.reply().command() != MilterProtocol.CONTINUE) return decided(e, a, changes);
            }
        }
        if (!o.has(MilterProtocol.NO_EOH)) {
            Answer a = c.step(MilterProtocol.END_OF_HEADERS, new byte[0], null, !o.has(MilterProtocol.NR_EOH), settings().commandTimeout());
            if (a != null && a.reply().command() != MilterProtocol.CONTINUE) return decided(e, a, changes);
        }
        if (!o.has(MilterProtocol.NO_BODY)) {
            try (InputStream in = changes.message.body().open()) {
                byte[] chunk = new byte[MilterProtocol.CHUNK];
                for (int n; (n = in.readNBytes(chunk, 0, chunk.length)) > 0; ) {
                    Answer a = c.step(MilterProtocol.BODY, java.util.Arrays.copyOf(chunk, n), null, !o.has(MilterProtocol.NR_BODY), content);
                    if (a == null || a.reply().command() == MilterProtocol.CONTINUE) continue;
                    if (a.reply().command() == MilterProtocol.SKIP) break; // enough body for this milter
                    return decided(e, a, changes);
                }
            }
        }
        Answer end = c.step(MilterProtocol.END_OF_MESSAGE, new byte[0], macros, true, content);
        changes.apply(e.spec, c.options(), end.modifications());
        return decided(e, end, changes);
    }

    private Verdict decided(Entry e, Answer a, Changes changes) {
        if (a.reply().command() == MilterProtocol.CONTINUE) milters.count(e.spec, "continue");
        return verdict(e, a.reply(), true);
    }

    /** default_action: accept leaves this milter out for the rest of the session; reject and tempfail answer the step. */
    private Verdict failed(Entry e, IOException ex) {
        log.warn("milter {}: {}; default_action {}", e.spec, ex.getMessage(), settings().defaultAction().name().toLowerCase());
        milters.count(e.spec, "failed");
        if (e.conn != null) e.conn.close();
        e.conn = null;
        e.done = true;
        return switch (settings().defaultAction()) {
            case ACCEPT -> Verdict.CONTINUE;
            case REJECT -> new Verdict(Milters.REJECTED, false);
            case TEMPFAIL -> new Verdict(Milters.TEMPFAILED, false);
        };
    }

    /**
     * SMFIR_REPLYCODE's text: "550 5.7.1 words", or several lines "550-5.7.1 a\r\n550 5.7.1 b"; only 4xx and
     * 5xx are allowed. Null for anything else.
     */
    static Reply replyCode(String text) {
        var m = java.util.regex.Pattern.compile("([45]\\d\\d)(?:[ -]([45]\\.\\d{1,3}\\.\\d{1,3}))?(?:[ -](.*))?").matcher("");
        List<String> lines = new ArrayList<>();
        int code = 0;
        String enhanced = null;
        for (String line : text.split("\r\n|\n")) {
            if (!m.reset(line).matches()) return null;
            int c = Integer.parseInt(m.group(1));
            if (code != 0 && c != code) return null;
            code = c;
            if (enhanced == null) enhanced = m.group(2);
            lines.add(m.group(3) == null ? "" : m.group(3));
        }
        if (code == 0) return null;
        if (enhanced == null) enhanced = code >= 500 ? "5.7.1" : "4.7.1";
        return new Reply(code, enhanced, lines);
    }

    /** The modifications of every milter so far. */
    private static final class Changes {
        final FilteredMessage message;
        String sender;
        final List<String> added = new ArrayList<>();
        final List<String> removed = new ArrayList<>();
        String quarantine;

        Changes(FilteredMessage message) { this.message = message; }

        void apply(String milter, MilterProtocol.Options o, List<Packet> mods) {
            ByteArrayOutputStream body = null;
            for (Packet p : mods) {
                byte[] d = p.data();
                switch (p.command()) {
                    case MilterProtocol.ADD_HEADER -> {
                        if (!allowed(milter, o, MilterProtocol.ADD_HEADERS, "add a header")) continue;
                        List<String> s = MilterProtocol.cStrings(d, 0);
                        message.addField(s.get(0), s.size() > 1 ? s.get(1) : "");
                    }
                    case MilterProtocol.INSERT_HEADER, MilterProtocol.CHANGE_HEADER -> {
                        boolean insert = p.command() == MilterProtocol.INSERT_HEADER;
                        if (!allowed(milter, o, insert ? MilterProtocol.ADD_HEADERS : MilterProtocol.CHANGE_HEADERS, "change headers")) continue;
                        int index = MilterProtocol.int32(d, 0);
                        List<String> s = MilterProtocol.cStrings(d, 4);
                        String value = s.size() > 1 ? s.get(1) : "";
                        if (insert) message.insertField(index, s.get(0), value);
                        else message.changeField(index, s.get(0), value);
                    }
                    case MilterProtocol.REPLACE_BODY -> {
                        if (!allowed(milter, o, MilterProtocol.CHANGE_BODY, "replace the body")) continue;
                        if (body == null) body = new ByteArrayOutputStream();
                        body.writeBytes(d);
                    }
                    case MilterProtocol.ADD_RCPT, MilterProtocol.ADD_RCPT_PAR -> {
                        if (!allowed(milter, o, MilterProtocol.ADD_RCPTS | MilterProtocol.ADD_RCPT_PARAMS, "add recipients")) continue;
                        List<String> s = MilterProtocol.cStrings(d, 0);
                        added.add(s.size() > 1 && !s.get(1).isEmpty() ? s.get(0) + " " + s.get(1) : s.get(0));
                    }
                    case MilterProtocol.DEL_RCPT -> {
                        if (!allowed(milter, o, MilterProtocol.DEL_RCPTS, "delete recipients")) continue;
                        removed.add(MilterProtocol.cString(d, 0));
                    }
                    case MilterProtocol.CHANGE_FROM -> {
                        if (!allowed(milter, o, MilterProtocol.CHANGE_FROM_ACTION, "change the sender")) continue;
                        List<String> s = MilterProtocol.cStrings(d, 0);
                        sender = s.size() > 1 && !s.get(1).isEmpty() ? s.get(0) + " " + s.get(1) : s.get(0);
                    }
                    case MilterProtocol.QUARANTINE -> {
                        if (!allowed(milter, o, MilterProtocol.QUARANTINE_ACTION, "quarantine")) continue;
                        quarantine = "milter " + milter + ": " + MilterProtocol.cString(d, 0);
                    }
                    default -> { }
                }
            }
            if (body != null) message.replaceBody(body.toByteArray());
        }

        private static boolean allowed(String milter, MilterProtocol.Options o, int action, String what) {
            if ((o.actions() & action) != 0) return true;
            log.warn("milter {} tried to {} without negotiating it; ignored", milter, what);
            return false;
        }
    }
}
