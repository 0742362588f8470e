package dev.postern.receive;

import dev.postern.config.Config.Kind;
import dev.postern.mail.Address;
import dev.postern.mail.Recipient;
import dev.postern.mail.Replies;
import dev.postern.mail.Reply;
import dev.postern.mail.ReversePath;
import dev.postern.policy.Facts;
import dev.postern.policy.Phase;
import dev.postern.policy.PolicyChain;
import dev.postern.policy.Verdict;
import dev.postern.smtp.CommandLine;
import dev.postern.smtp.LineSplitter;
import dev.postern.smtp.PathArgument;
import dev.postern.smtp.Xtext;
import dev.postern.smtp.sasl.SaslServer;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The SMTP verbs, one method each: check the state, parse, decide, reply. */
final class Commands {
    private static final Pattern BDAT = Pattern.compile("(\\d{1,18})(?: +(LAST))?", Pattern.CASE_INSENSITIVE);
    private static final Set<String> NOTIFY_VALUES = Set.of("SUCCESS", "FAILURE", "DELAY");
    private static final int MAX_SESSION_AUTH_FAILURES = 3;
    /** RFC 5321 6.3 and Postfix's hopcount_limit: 50 Received headers means a loop. */
    static final int MAX_RECEIVED = 50;

    private final SmtpSession s;

    Commands(SmtpSession s) { this.s = s; }

    private static final java.util.Set<String> JUNK = java.util.Set.of("NOOP", "RSET", "VRFY", "EXPN", "HELP");

    void line(LineSplitter.Line line) {
        if (line.tooLong()) {
            s.reply(Replies.LINE_TOO_LONG);
            return;
        }
        if (line.bareNewline()) {
            s.reply(Replies.BARE_LF_COMMAND);
            return;
        }
        CommandLine c = CommandLine.parse(line.text());
        if (line.length() > SmtpSession.MAX_COMMAND_LINE && !c.verb().equals("AUTH")) {
            s.reply(Replies.LINE_TOO_LONG); // RFC 5321 4.5.3.1.4
            return;
        }
        if (JUNK.contains(c.verb()) && ++s.junkCommands > SmtpSession.MAX_JUNK_COMMANDS) {
            s.closeWith(Replies.TOO_MUCH_JUNK);
            return;
        }
        switch (c.verb()) {
            case "EHLO" -> hello(c, true);
            case "HELO" -> hello(c, false);
            case "MAIL" -> mail(c);
            case "RCPT" -> rcpt(c);
            case "DATA" -> data(c);
            case "BDAT" -> bdat(c);
            case "RSET" -> rset(c);
            case "NOOP" -> s.reply(Replies.OK);
            case "QUIT" -> s.closeWith(Replies.BYE);
            case "VRFY" -> s.reply(c.hasArgument() ? Replies.CANNOT_VRFY : Replies.SYNTAX_ERROR);
            case "EXPN" -> s.reply(Replies.EXPN_DISABLED); // RFC 5321 7.3: may be disabled
            case "HELP" -> s.reply(Reply.of(214, "2.0.0",
                    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"));
            case "STARTTLS" -> startTls(c);
            case "AUTH" -> auth(c);
            default -> s.reply(line.text().isEmpty() ? Replies.SYNTAX_ERROR.withText("Empty command") : Replies.UNKNOWN_COMMAND);
        }
    }

    // ------------------------------------------------------------------ EHLO / HELO / RSET

    private void hello(CommandLine c, boolean extended) {
        String name = c.argument().trim();
        if (name.isEmpty() || name.contains(" ")) {
            s.reply(Replies.SYNTAX_ERROR.withText("Syntax: " + (extended ? "EHLO" : "HELO") + " hostname"));
            return;
        }
        s.resetTransaction(); // RFC 5321 4.1.4: EHLO mid-session acts like RSET
        decide(Phase.HELO, s.facts().withHelo(name), "HELO", () -> milter(m -> m.helo(name, tlsMacros()), "HELO", null,
                () -> greet(name, extended)));
    }

    private void greet(String name, boolean extended) {
        s.helo = name;
        s.esmtp = extended;
        String greeting = s.server.config().hostname() + " Hello " + name + " [" + s.clientIp.getHostAddress() + "]";
        if (!extended) {
            s.reply(Reply.of(250, null, greeting));
            return;
        }
        s.reply(new Reply(250, null, EhloKeywords.lines(greeting, s.server.config().limits().maxMessageSize(),
                s.tls, s.server.ssl() != null)));
    }

    private void rset(CommandLine c) {
        if (c.hasArgument()) {
            s.reply(Replies.SYNTAX_ERROR);
            return;
        }
        s.resetTransaction();
        s.reply(Replies.RESET_OK);
    }

    // ------------------------------------------------------------------ MAIL

    private void mail(CommandLine c) {
        if (s.helo == null) { s.reply(Replies.NEED_EHLO); return; }
        if (s.sender != null) { s.reply(Replies.NESTED_MAIL); return; }
        if (s.listener.kind() != Kind.SMTP && !s.tls) { s.reply(Replies.TLS_REQUIRED); return; }
        if (s.listener.kind() != Kind.SMTP && s.authUser == null) { s.reply(Replies.AUTH_REQUIRED); return; }
        PathArgument p = PathArgument.parseMail(c.argument(), false);
        if (p.isError()) { s.reply(p.error()); return; }
        Reply bad = checkMailParams(p.params());
        if (bad != null) { s.reply(bad); return; }
        if (p.address() != null && !p.address().isAscii() && !p.params().containsKey("SMTPUTF8")) {
            s.reply(Reply.of(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"));
            return;
        }
        decide(Phase.MAIL, s.facts().withSender(p.address()), "MAIL", () -> milter(
                m -> m.mail("<" + (p.address() == null ? "" : p.address()) + ">", esmtpArgs(p.params()), mailMacros(p.address())), "MAIL", null, () -> {
            s.sender = p.address() == null ? ReversePath.NULL : new ReversePath(p.address());
            s.mailParams = p.params();
            s.reply(Replies.SENDER_OK);
        }));
    }

    private Reply checkMailParams(Map<String, String> params) {
        if (!s.esmtp && !params.isEmpty()) return Replies.BAD_PARAMETER; // RFC 5321 4.1.1.2: only after EHLO
        for (var e : params.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "SIZE" -> { // RFC 1870 6
                    if (v == null || !v.matches("\\d{1,18}")) return Replies.SYNTAX_ERROR;
                    if (Long.parseLong(v) > s.server.config().limits().maxMessageSize()) return Replies.MESSAGE_TOO_BIG;
                }
                case "BODY" -> { // RFC 6152 3
                    if (v == null || !(v.equalsIgnoreCase("7BIT") || v.equalsIgnoreCase("8BITMIME"))) return Replies.BAD_PARAMETER;
                    e.setValue(v.toUpperCase(Locale.ROOT));
                }
                case "SMTPUTF8" -> { if (v != null) return Replies.SYNTAX_ERROR; } // RFC 6531 3.4
                case "REQUIRETLS" -> { // RFC 8689 3: no value, and only where offered (a TLS session)
                    if (!s.tls) return Replies.BAD_PARAMETER;
                    if (v != null) return Replies.SYNTAX_ERROR;
                }
                case "RET" -> { // RFC 3461 4.3
                    if (v == null || !(v.equalsIgnoreCase("FULL") || v.equalsIgnoreCase("HDRS"))) return Replies.SYNTAX_ERROR;
                    e.setValue(v.toUpperCase(Locale.ROOT));
                }
                case "ENVID" -> { // RFC 3461 4.4: at most 100 characters of xtext
                    if (v == null || v.length() > 100 || !Xtext.isValid(v)) return Replies.SYNTAX_ERROR;
                }
                case "AUTH" -> { // RFC 4954 5: accepted; we do not trust the claimed identity
                    if (v == null) return Replies.SYNTAX_ERROR;
                }
                default -> { return Replies.BAD_PARAMETER; }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ RCPT

    private void rcpt(CommandLine c) {
        if (s.sender == null) { s.reply(Replies.NEED_MAIL); return; }
        boolean utf8 = s.mailParams.containsKey("SMTPUTF8");
        PathArgument p = PathArgument.parseRcpt(c.argument(), utf8);
        if (p.isError()) { s.reply(p.error()); return; }
        Reply bad = checkRcptParams(p.params());
        if (bad != null) { s.reply(bad); return; }
        if (s.recipients.size() >= s.server.config().limits().maxRecipients()) {
            s.reply(Replies.TOO_MANY_RECIPIENTS); // RFC 5321 4.5.3.1.10
            return;
        }
        Address to = p.postmaster() ? s.server.router().postmaster() : p.address();
        if (!utf8 && !to.isAscii()) {
            s.reply(Reply.of(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"));
            return;
        }
        decide(Phase.RCPT, s.facts().withRecipient(to), "RCPT", () -> {
            Address target = to;
            var srs = s.server.srs();
            var reversed = srs == null ? null : srs.reverseCounted(to.localPart(), to.domain());
            if (reversed instanceof dev.postern.filter.Srs.Reversed.Invalid forged) {
                // a forged, altered or expired SRS address: nobody we forwarded for
                Reply r = Reply.of(550, "5.1.1", "<" + to + ">: Recipient address rejected: " + forged.why());
                logReject("RCPT", r, "srs", to);
                s.reply(r);
                return;
            }
            if (reversed instanceof dev.postern.filter.Srs.Reversed.Address back) {
                // a reply or bounce to mail we forwarded: it goes back to the original sender
                target = Address.parse(back.address(), true);
                if (target == null) {
                    s.reply(Reply.of(550, "5.1.1", "<" + to + ">: Recipient address rejected: malformed SRS address"));
                    return;
                }
                SmtpSession.log.info("srs: <{}> reversed to <{}>", to, target);
            } else {
                Reply unknown = s.server.relay().checkLocalRecipient(to);
                if (unknown != null) {
                    logReject("RCPT", unknown, "local_recipients", to);
                    s.reply(unknown);
                    return;
                }
            }
            Address rcpt = target;
            milter(m -> m.rcpt("<" + to + ">", esmtpArgs(p.params()), Map.of("{rcpt_addr}", to.toString())), "RCPT", to, () -> {
                String notify = p.params().get("NOTIFY");
                s.recipients.add(new Recipient(rcpt, notify == null ? null : notify.toUpperCase(Locale.ROOT), p.params().get("ORCPT")));
                s.reply(Replies.RECIPIENT_OK);
            });
        });
    }

    private Reply checkRcptParams(Map<String, String> params) {
        if (!s.esmtp && !params.isEmpty()) return Replies.BAD_PARAMETER;
        for (var e : params.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "NOTIFY" -> { // RFC 3461 4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY
                    if (v == null) return Replies.SYNTAX_ERROR;
                    String[] parts = v.toUpperCase(Locale.ROOT).split(",", -1);
                    boolean never = parts.length == 1 && parts[0].equals("NEVER");
                    if (!never) for (String part : parts) if (!NOTIFY_VALUES.contains(part)) return Replies.SYNTAX_ERROR;
                }
                case "ORCPT" -> { // RFC 3461 4.2: addr-type ";" xtext
                    int semi = v == null ? -1 : v.indexOf(';');
                    if (semi <= 0 || !Xtext.isValid(v.substring(semi + 1)) || v.length() > 500) return Replies.SYNTAX_ERROR;
                }
                default -> { return Replies.BAD_PARAMETER; }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ DATA

    private void data(CommandLine c) {
        if (c.hasArgument()) { s.reply(Replies.SYNTAX_ERROR); return; }
        if (s.sender == null) { s.reply(Replies.NEED_MAIL); return; }
        if (s.bdatUsed) { s.reply(Replies.BDAT_AFTER_DATA_MIX); return; }
        if (s.recipients.isEmpty()) { s.reply(Replies.NO_VALID_RECIPIENTS); return; }
        decide(Phase.DATA, s.facts(), "DATA", () -> milter(m -> m.data(Map.of()), "DATA", null, this::startData));
    }

    private void startData() {
        beginMessage(() -> {
            s.reply(Replies.START_DATA);
            s.startData();
        }, err -> s.reply(SmtpSession.diskErrorReply(err)));
    }

    /**
     * Opens the spool file for the current transaction (off the event loop) and writes our Received header;
     * then ready runs, or, after a disk error, the transaction is reset and failed runs with the error.
     */
    private void beginMessage(Runnable ready, java.util.function.Consumer<Exception> failed) {
        var envelope = s.envelope();
        var milters = s.milters();
        MilterStage filtering = milters == null ? null : new MilterStage(milters, s.server.config().dataDir().resolve("tmp"), envelope,
                s.server.queue(), s::receivedHeader, Map.of());
        InboundMessage m = new InboundMessage(s.disk, s.server.config().limits().maxMessageSize(), authentication(), filtering);
        if (s.classes.has("bulk")) m.markBulk();
        if (s.server.afterQueue() != null) m.filterAfterQueue(s.server.afterQueue());
        s.message = m;
        s.offload(() -> m.begin(s.server.queue(), envelope, s::receivedHeader), (id, err) -> {
            if (err != null) {
                SmtpSession.log.warn("cannot start spool file: {}", err.toString());
                s.resetTransaction();
                failed.accept(err);
                return;
            }
            ready.run();
        });
    }

    /** Authentication work for the message starting now, or null when none applies. */
    private MessageAuthentication authentication() {
        AuthServices a = s.server.auth();
        if (a == null) return null;
        boolean trusted = s.authUser != null || s.server.relay().isTrustedNetwork(s.clientIp);
        var origin = new MessageAuthentication.Origin(s.clientIp, s.helo, s.sender.isNull() ? null : s.sender.address().toString(),
                trusted, s.server.config().hostname(), s.server.config().domains());
        return new MessageAuthentication(a, origin, s.server.clock());
    }

    void endOfData() {
        InboundMessage m = s.message;
        m.endOfContent();
        Reply refused = m.oversized() ? Replies.MESSAGE_TOO_BIG
                : s.dataDecoder.sawBareNewline() ? Replies.SMUGGLING
                : m.receivedHeaders() >= MAX_RECEIVED ? Replies.MAIL_LOOP : null;
        finishMessage(m, refused);
    }

    private void finishMessage(InboundMessage m, Reply refused) {
        if (refused != null) {
            SmtpSession.log.info("{}: reject: end of data from {}[{}]: {}", m.id(), s.clientName,
                    s.clientIp.getHostAddress(), refused);
            s.reply(refused);
            s.resetTransaction();
            return;
        }
        s.message = null; // the commit below owns it now
        s.await(m.commit(s.server.lookups()), (queued, err) -> {
            if (err instanceof InboundMessage.Discarded) {
                SmtpSession.log.info("discard: END-OF-MESSAGE from {}[{}]: by a milter; from=<{}>", s.clientName, s.clientIp.getHostAddress(), s.sender);
                s.reply(Reply.of(250, "2.0.0", "Ok"));
            } else if (err instanceof InboundMessage.Refused r) {
                logReject("END-OF-MESSAGE", r.reply, s.milters() != null ? "milter" : "authentication", null);
                s.reply(r.reply);
            } else if (err != null) {
                SmtpSession.log.warn("{}: not queued: {}", m.id(), err.toString());
                s.reply(SmtpSession.diskErrorReply(err));
            } else {
                s.accepted(queued, m.authSummary());
                s.reply(Reply.of(250, "2.0.0", "Ok: queued as " + queued.id()));
                if (m.awaitsAfterQueue()) s.server.afterQueue().filterLater(queued.id());
            }
            s.resetTransaction();
        });
    }

    // ------------------------------------------------------------------ milters

    /**
     * The step to the session's milters (off the event loop), then pass; a milter's refusal answers the
     * command instead (for RCPT, that recipient only).
     */
    private void milter(java.util.function.Function<dev.postern.filter.MilterSession, java.util.concurrent.CompletableFuture<
            dev.postern.filter.MilterSession.Verdict>> step, String command, dev.postern.mail.Address to, Runnable pass) {
        var m = s.milters();
        if (m == null) {
            pass.run();
            return;
        }
        s.await(step.apply(m), (v, err) -> {
            if (err != null) {
                SmtpSession.log.warn("milter step {} failed: {}", command, err.toString());
                s.reply(Reply.of(451, "4.7.1", "Service unavailable - try again later"));
            } else if (v.refusal() != null) {
                logReject(command, v.refusal(), "milter", to);
                s.reply(v.refusal());
            } else {
                pass.run();
            }
        });
    }

    private static List<String> esmtpArgs(Map<String, String> params) {
        List<String> out = new java.util.ArrayList<>();
        params.forEach((k, v) -> out.add(v == null ? k : k + "=" + v));
        return out;
    }

    /** Postfix's milter_helo_macros that we know. */
    private Map<String, String> tlsMacros() {
        String tls = s.tlsDescription();
        if (tls == null) return Map.of();
        String[] parts = tls.split(" ", 2);
        return Map.of("{tls_version}", parts[0], "{cipher}", parts.length > 1 ? parts[1] : "");
    }

    /** Postfix's milter_mail_macros that we know. */
    private Map<String, String> mailMacros(dev.postern.mail.Address from) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("{mail_addr}", from == null ? "" : from.toString());
        if (s.authUser != null) {
            m.put("{auth_authen}", s.authUser);
            m.put("{auth_type}", "PLAIN");
        }
        return m;
    }

    // ------------------------------------------------------------------ policy

    /**
     * Runs the phase's checks (off the event loop, and off the spool's threads, when one of them may wait on
     * the DNS; no thread waits while it answers), then either refuses
     * with the deciding check's reply or continues with {@code pass}.
     */
    void decide(Phase phase, Facts facts, String command, Runnable pass) {
        PolicyChain chain = s.server.policy();
        if (!chain.blocking(phase)) {
            apply(chain.evaluate(phase, facts), command, facts, pass);
            return;
        }
        s.await(chain.evaluateAsync(phase, facts, s.server.lookups()), (v, err) -> {
            if (err != null) {
                SmtpSession.log.warn("policy check failed: {}", err.toString());
                s.reply(Reply.of(451, "4.3.0", "Temporary failure in policy checks"));
                return;
            }
            apply(v, command, facts, pass);
        });
    }

    private void apply(Verdict v, String command, Facts facts, Runnable pass) {
        if (!(v instanceof Verdict.Refusal r)) {
            pass.run();
            return;
        }
        Reply refusal = r.reply();
        logReject(command, refusal, r.check(), facts.recipient());
        if (r instanceof Verdict.Disconnect) {
            s.closeWith(refusal);
            return;
        }
        if (command.equals("CONNECT")) s.closeWith(refusal.isPermanent() ? refusal : Reply.of(421, refusal.enhanced(), refusal.lines().get(0)));
        else s.reply(refusal);
    }

    private void logReject(String command, Reply r, String check, dev.postern.mail.Address to) {
        SmtpSession.log.info("reject: {} from {}[{}]: {}; from=<{}>{}{} check={}", command, s.clientName, s.clientIp.getHostAddress(), r,
                s.sender == null ? "" : s.sender, to == null ? "" : " to=<" + to + ">", s.helo == null ? "" : " helo=<" + s.helo + ">", check);
    }

    // ------------------------------------------------------------------ BDAT (RFC 3030)

    private void bdat(CommandLine c) {
        Matcher mt = BDAT.matcher(c.argument().trim());
        if (!mt.matches()) { s.reply(Replies.SYNTAX_ERROR); return; }
        long size = Long.parseLong(mt.group(1));
        boolean last = mt.group(2) != null;
        // RFC 3030 2: a refused BDAT's chunk is still read and discarded, so framing is never lost
        Reply refused = s.sender == null ? Replies.NEED_MAIL
                : s.recipients.isEmpty() ? Replies.NO_VALID_RECIPIENTS
                : s.dataDecoder != null ? Replies.BAD_SEQUENCE : null;
        if (refused != null) {
            pendingChunkReply = refused;
            s.startChunk(size, last, true);
            return;
        }
        pendingChunkReply = null;
        if (!s.bdatUsed) {
            s.bdatUsed = true;
            beginMessage(() -> s.startChunk(size, last, false), err -> {
                pendingChunkReply = SmtpSession.diskErrorReply(err);
                s.startChunk(size, last, true); // the chunk is still read, then refused
            });
            return;
        }
        s.startChunk(size, last, s.message == null);
    }

    private Reply pendingChunkReply;

    void endOfChunk() {
        if (pendingChunkReply != null) {
            s.reply(pendingChunkReply);
            pendingChunkReply = null;
            return;
        }
        InboundMessage m = s.message;
        if (m == null) { s.reply(Replies.BAD_SEQUENCE); return; }
        if (!s.bdatLast) {
            if (m.oversized()) {
                s.reply(Replies.MESSAGE_TOO_BIG);
                s.resetTransaction();
                return;
            }
            s.reply(Reply.of(250, "2.0.0", s.bdatRemainingText()));
            return;
        }
        m.endOfContent();
        finishMessage(m, m.oversized() ? Replies.MESSAGE_TOO_BIG
                : m.receivedHeaders() >= MAX_RECEIVED ? Replies.MAIL_LOOP : null);
    }

    // ------------------------------------------------------------------ STARTTLS (RFC 3207)

    private void startTls(CommandLine c) {
        if (c.hasArgument()) { s.reply(Replies.SYNTAX_ERROR); return; }
        if (s.helo == null || !s.esmtp) { s.reply(Replies.NEED_EHLO); return; }
        if (s.tls) { s.reply(Replies.BAD_SEQUENCE.withText("TLS already active")); return; }
        if (s.server.ssl() == null) { s.reply(Replies.TLS_UNAVAILABLE); return; }
        s.startTls();
    }

    // ------------------------------------------------------------------ AUTH (RFC 4954)

    private void auth(CommandLine c) {
        if (!s.esmtp) { s.reply(Replies.NEED_EHLO); return; }
        if (!s.tls) { s.reply(Replies.ENCRYPTION_REQUIRED); return; }
        if (s.authUser != null) { s.reply(Replies.ALREADY_AUTHENTICATED); return; }
        if (s.sender != null) { s.reply(Replies.BAD_SEQUENCE.withText("AUTH not permitted during a mail transaction")); return; }
        if (s.server.authFailures().blocked(s.clientIp)) { s.reply(Replies.AUTH_RATE_LIMITED); return; }
        String[] parts = c.argument().trim().split(" +");
        if (parts.length == 0 || parts[0].isEmpty() || parts.length > 2) { s.reply(Replies.SYNTAX_ERROR); return; }
        SaslServer mech = SaslServer.forName(parts[0].toUpperCase(Locale.ROOT), s.server.config().hostname());
        if (mech == null) { s.reply(Replies.UNKNOWN_MECHANISM); return; }
        byte[] initial = null;
        if (parts.length == 2) {
            initial = parts[1].equals("=") ? new byte[0] : decode(parts[1]); // RFC 4954 4: "=" is empty
            if (initial == null) { s.reply(Replies.BAD_BASE64); return; }
        }
        s.sasl = mech;
        step(mech.start(initial));
    }

    void saslLine(LineSplitter.Line line) {
        s.mode = SmtpSession.Mode.COMMAND;
        if (line.tooLong() || line.bareNewline()) { s.sasl = null; s.reply(Replies.LINE_TOO_LONG); return; }
        if (line.text().equals("*")) { s.sasl = null; s.reply(Replies.AUTH_CANCELLED); return; } // RFC 4954 4
        byte[] response = decode(line.text());
        if (response == null) { s.sasl = null; s.reply(Replies.BAD_BASE64); return; }
        step(s.sasl.next(response));
    }

    private void step(SaslServer.Step step) {
        if (step instanceof SaslServer.Challenge ch) {
            s.reply(Reply.of(334, null, Base64.getEncoder().encodeToString(ch.challenge())));
            s.mode = SmtpSession.Mode.SASL;
        } else if (step instanceof SaslServer.Malformed m) {
            s.sasl = null;
            s.reply(Reply.of(501, "5.5.2", "Invalid authentication exchange: " + m.why()));
        } else if (step instanceof SaslServer.Verify v) {
            s.sasl = null;
            // Argon2 takes ~15 MiB and a core's worth of time per check: a few at a time, never on the spool's threads
            s.await(java.util.concurrent.CompletableFuture.supplyAsync(() -> s.server.authenticator().verify(v.credentials()),
                    s.server.passwordChecks()), (user, err) -> {
                if (user != null) {
                    s.authUser = user;
                    SmtpSession.log.info("{}[{}]: sasl_username={}", s.clientName, s.clientIp.getHostAddress(), user);
                    s.reply(Replies.AUTH_OK);
                    return;
                }
                s.server.authFailures().recordFailure(s.clientIp);
                SmtpSession.log.info("warning: {}[{}]: SASL authentication failed for {}", s.clientName,
                        s.clientIp.getHostAddress(), v.credentials().username());
                if (++s.authFailures >= MAX_SESSION_AUTH_FAILURES) {
                    s.closeWith(Replies.TOO_MANY_AUTH_FAILURES);
                    return;
                }
                s.reply(Replies.BAD_CREDENTIALS);
            });
        }
    }

    private static byte[] decode(String b64) {
        try {
            return Base64.getDecoder().decode(b64.getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
