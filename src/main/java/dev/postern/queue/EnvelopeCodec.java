package dev.postern.queue;

import dev.postern.mail.Address;
import dev.postern.mail.Envelope;
import dev.postern.mail.Recipient;
import dev.postern.mail.ReversePath;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The text form of an envelope at the head of a queue file: "key value" lines, values URL-encoded. */
final class EnvelopeCodec {
    private static final Logger log = LoggerFactory.getLogger("postern.queue");
    static final String MAGIC = "POSTERN-QUEUE 1";

    private EnvelopeCodec() {}

    static String encode(String id, Envelope e) {
        StringBuilder sb = new StringBuilder(MAGIC).append('\n');
        line(sb, "id", id);
        line(sb, "arrival", Long.toString(e.arrival().toEpochMilli()));
        line(sb, "sender", e.sender().isNull() ? "" : e.sender().address().localPart() + "@" + e.sender().address().domain());
        for (Recipient r : e.recipients()) {
            sb.append("rcpt ").append(enc(r.address().localPart() + "@" + r.address().domain())).append(' ')
                    .append(enc(r.notifyOn())).append(' ').append(enc(r.orcpt())).append('\n');
        }
        line(sb, "body", e.body());
        line(sb, "smtputf8", Boolean.toString(e.smtpUtf8()));
        line(sb, "ret", e.ret());
        line(sb, "envid", e.envid());
        line(sb, "helo", e.heloName());
        line(sb, "client", e.clientAddress());
        line(sb, "auth", e.authUser());
        if (e.requireTls()) line(sb, "requiretls", "true"); // only when set: older releases read every other envelope
        return sb.append('\n').toString();
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append(' ').append(enc(value)).append('\n');
    }

    private static String enc(String s) { return s == null ? "-" : s.isEmpty() ? "%00" : URLEncoder.encode(s, StandardCharsets.UTF_8); }

    private static String dec(String s) {
        if (s.equals("-")) return null;
        if (s.equals("%00")) return "";
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /**
     * An envelope this release cannot read whole (a newer release's key or version): the queue refuses to
     * start rather than drop what it does not understand.
     */
    static final class UnknownFormat extends IOException {
        UnknownFormat(String message) { super(message); }
    }

    static Envelope decode(List<String> lines) throws IOException {
        if (lines.isEmpty()) throw new IOException("not a Postern queue file");
        if (!lines.get(0).equals(MAGIC)) {
            if (lines.get(0).startsWith("POSTERN-QUEUE ")) throw new UnknownFormat("envelope version \"" + lines.get(0) + "\" (this release reads \"" + MAGIC + "\")");
            throw new IOException("not a Postern queue file");
        }
        boolean requireTls = false;
        String sender = null, body = null, ret = null, envid = null, helo = null, client = null, auth = null;
        boolean utf8 = false;
        Instant arrival = null;
        List<Recipient> rcpts = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(" ");
            switch (f[0]) {
                case "arrival" -> arrival = Instant.ofEpochMilli(Long.parseLong(f[1]));
                case "sender" -> sender = dec(f[1]);
                case "rcpt" -> rcpts.add(new Recipient(address(dec(f[1])), dec(f[2]), dec(f[3])));
                case "body" -> body = dec(f[1]);
                case "smtputf8" -> utf8 = Boolean.parseBoolean(f[1]);
                case "ret" -> ret = dec(f[1]);
                case "envid" -> envid = dec(f[1]);
                case "helo" -> helo = dec(f[1]);
                case "client" -> client = dec(f[1]);
                case "auth" -> auth = dec(f[1]);
                case "requiretls" -> requireTls = Boolean.parseBoolean(f[1]);
                case "id", "" -> { } // "" is the blank line that ends the header
                default -> throw new UnknownFormat("envelope key \"" + f[0] + "\" is not known to this release");
            }
        }
        if (arrival == null || sender == null || rcpts.isEmpty()) throw new IOException("incomplete envelope");
        ReversePath rp = sender.isEmpty() ? ReversePath.NULL : new ReversePath(address(sender));
        return new Envelope(rp, rcpts, body, utf8, ret, envid, helo, client, auth, arrival, requireTls);
    }

    private static Address address(String s) {
        int at = s.lastIndexOf('@');
        return new Address(s.substring(0, at), s.substring(at + 1));
    }

    /** State file: "held" on a line of its own when held, then one line per recipient. */
    static String encodeState(QueuedMessage m) {
        StringBuilder sb = new StringBuilder();
        if (m.held()) sb.append("held\n");
        List<RecipientState> states = m.recipients();
        for (int i = 0; i < states.size(); i++) {
            RecipientState s = states.get(i);
            sb.append(i).append(' ').append(s.status()).append(' ').append(s.attempts()).append(' ')
                    .append(s.nextAttempt() == null ? "-" : Long.toString(s.nextAttempt().toEpochMilli())).append(' ')
                    .append(enc(s.lastReply())).append(' ').append(enc(s.relay())).append(' ')
                    .append(s.delayWarned() ? "warned" : "-").append('\n');
        }
        return sb.toString();
    }

    static boolean decodeHeld(List<String> lines) { return lines.contains("held"); }

    static List<RecipientState> decodeState(List<String> lines, List<Recipient> recipients) {
        return decodeState(lines, recipients, "recipient state");
    }

    /**
     * Recipient states in either format a release has written: seven fields (index, status, attempts, next
     * attempt, last reply, relay, "warned") since the delivery dispatcher, five (no relay, no delay warning) in
     * the first release. A line in neither, or naming a recipient the envelope lacks, is logged with its
     * source and that recipient starts fresh: never dropped without a word.
     */
    static List<RecipientState> decodeState(List<String> lines, List<Recipient> recipients, String source) {
        List<RecipientState> out = new ArrayList<>();
        for (Recipient r : recipients) out.add(RecipientState.fresh(r));
        int n = 0;
        for (String l : lines) {
            n++;
            if (l.isEmpty() || l.equals("held")) continue;
            String[] f = l.split(" ");
            try {
                int i = Integer.parseInt(f[0]);
                if (i < 0 || i >= recipients.size()) throw new IllegalArgumentException("recipient " + i + " of " + recipients.size());
                Instant next = f.length > 3 && !f[3].equals("-") ? Instant.ofEpochMilli(Long.parseLong(f[3])) : null;
                if (f.length == 7) {
                    out.set(i, new RecipientState(recipients.get(i), RecipientState.Status.valueOf(f[1]), Integer.parseInt(f[2]), next,
                            dec(f[4]), dec(f[5]), f[6].equals("warned")));
                } else if (f.length == 5) {
                    out.set(i, new RecipientState(recipients.get(i), RecipientState.Status.valueOf(f[1]), Integer.parseInt(f[2]), next,
                            dec(f[4]), null, false));
                } else {
                    throw new IllegalArgumentException(f.length + " fields");
                }
            } catch (RuntimeException e) {
                log.warn("{}: line {} \"{}\" is not a recipient state this release reads ({}); that recipient is treated as new",
                        source, n, l, e.getMessage());
            }
        }
        return out;
    }
}
