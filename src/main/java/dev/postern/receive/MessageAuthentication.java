package dev.postern.receive;

import dev.postern.mail.Reply;
import dev.postern.message.AuthenticationResults;
import dev.postern.message.BodyHasher;
import dev.postern.message.DkimSigner;
import dev.postern.message.DkimVerifier;
import dev.postern.message.FromDomains;
import dev.postern.message.HeaderSection;
import dev.postern.policy.Dmarc;
import dev.postern.policy.Spf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The email authentication of one message while it streams in: holds its header section (dropping forged
 * Authentication-Results), hashes the body for DKIM, and at the end works out SPF, DKIM, DMARC, the
 * Authentication-Results field, our DKIM signature and any refusal. Mail from trusted networks and
 * authenticated users is signed rather than verified.
 */
final class MessageAuthentication {
    private static final Logger log = LoggerFactory.getLogger("postern.auth");

    /** The session facts this message was sent with. */
    record Origin(InetAddress client, String helo, String sender, boolean trusted, String hostname, Set<String> localDomains) {}

    /**
     * What to put before the message, and whether to refuse it or hold it. effects (counting results, the
     * DMARC report row) are run once by the caller: {@link #finish} itself may run more than once.
     */
    record Outcome(byte[] prefix, Reply refusal, String holdReason, String summary, Runnable effects) {
        Outcome(byte[] prefix, Reply refusal, String holdReason, String summary) { this(prefix, refusal, holdReason, summary, () -> { }); }
    }

    private final AuthServices services;
    private final Origin origin;
    private final Clock clock;
    private final HeaderSection header = new HeaderSection();
    private final Pattern byUs;
    /** "by <our name>" in a Received field, compiled once per host name rather than per message. */
    private static final java.util.concurrent.ConcurrentHashMap<String, Pattern> BY_US = new java.util.concurrent.ConcurrentHashMap<>();
    private DkimVerifier verifier;
    private dev.postern.message.Arc arc;
    private BodyHasher signHasher;
    private List<DkimSigner.Key> signKeys = List.of();
    private boolean forgedTrace;

    MessageAuthentication(AuthServices services, Origin origin, Clock clock) {
        this.services = services;
        this.origin = origin;
        this.clock = clock;
        // "by mx.example.test", not "by mx.example.test.elsewhere.net"
        this.byUs = BY_US.computeIfAbsent(origin.hostname(), h -> Pattern.compile("\\bby\\s+" + Pattern.quote(h) + "(?![\\w.-])", Pattern.CASE_INSENSITIVE));
    }

    boolean headerComplete() { return header.complete(); }

    /** Takes header octets; returns how many of b were header (the rest is body). */
    int feedHeader(byte[] b, int off, int len) { return header.feed(b, off, len); }

    /** The header section ends: decide what to do, and return it as it goes to disk. */
    byte[] endHeader() {
        header.end();
        // fields are parsed only when something reads them: signing our users' mail, or checking others'
        if (origin.trusted()) {
            if (services.settings().dkimSign() && !services.signing().isEmpty()) {
                List<String> from = FromDomains.of(header.fields());
                if (from.size() == 1 && origin.localDomains().contains(from.get(0))) {
                    signKeys = services.signing().forDomain(from.get(0));
                    if (!signKeys.isEmpty()) signHasher = DkimSigner.bodyHasher();
                }
            }
        } else {
            if (services.settings().verify()) {
                verifier = new DkimVerifier(header.fields());
                arc = new dev.postern.message.Arc(header.fields(), services.settings().arcSeal());
            }
            if (!services.settings().receivedForgery().equals("off")) {
                forgedTrace = header.fields().stream().anyMatch(f -> f.is("Received") && byUs.matcher(f.value()).find());
            }
        }
        String ourId = services.settings().authservId();
        return header.without("Authentication-Results", f -> AuthenticationResults.claims(f, ourId));
    }

    /** True when finishing takes real work (DNS look-ups, signatures); otherwise it is done on the spot. */
    boolean hasWork() { return verifier != null || signHasher != null; }

    void body(byte[] b, int off, int len) {
        if (verifier != null) verifier.body(b, off, len);
        if (arc != null) arc.body(b, off, len);
        if (signHasher != null) signHasher.update(b, off, len);
    }

    /**
     * Runs off the event loop: DNS for keys, SPF and DMARC. It may run several times for one message (each
     * time the DNS has answered one more question, see route.DnsReplay), so it changes nothing outside the
     * outcome it returns.
     */
    Outcome finish() {
        header.end(); // InboundMessage.endOfContent wrote the header section already; this only marks it read
        if (signHasher != null) return signOutgoing();
        if (origin.trusted()) return new Outcome(new byte[0], null, null, "");
        Verdicts v = new Verdicts();
        if (forgedTrace) {
            v.summary = "forged-received";
            if (services.settings().receivedForgery().equals("reject")) {
                v.refusal = Reply.of(550, "5.7.1", "Message refused: a Received field claims it passed through " + origin.hostname());
            } else {
                v.extra.append("X-Postern-Warning: a Received field claims this message passed through ").append(origin.hostname()).append("\r\n");
            }
        }
        if (verifier == null) return new Outcome(bytes(v.extra), v.refusal, null, v.summary, v::effects);
        Spf.Outcome spf = spf(v);
        List<DkimVerifier.Result> dkim = dkim(v);
        dmarc(v, spf, dkim);
        dev.postern.message.Arc.Validation chain = arc.validate(services.keys());
        v.ar.add("arc", chain.status(), chain.reason(), "header.i", chain.instances() > 0 ? String.valueOf(chain.instances()) : null);
        v.summary += " arc=" + chain.status();
        v.count("arc", chain.status());
        String arcSet = v.refusal == null ? seal(chain, v.ar) : null;
        // RFC 8601 5: our field goes on top, above the trace fields
        String header = v.ar.field() + (arcSet == null ? "" : arcSet) + v.extra;
        return new Outcome(header.getBytes(StandardCharsets.ISO_8859_1), v.refusal, v.hold, v.summary.strip(), v::effects);
    }

    /** What the checks of one message have found so far. */
    private final class Verdicts {
        final AuthenticationResults ar = new AuthenticationResults(services.settings().authservId());
        final StringBuilder extra = new StringBuilder(); // header fields below ours
        Reply refusal;
        String hold;
        String summary = "";
        final List<Runnable> effects = new ArrayList<>();

        void count(String method, String result) { effects.add(() -> services.count(method, result)); }

        void effects() { effects.forEach(Runnable::run); }
    }

    /** Our users' mail: one DKIM-Signature per key of the From domain. */
    private Outcome signOutgoing() {
        String sigs = DkimSigner.signAll(header.fields(), signHasher.finish(), signKeys, clock.instant().getEpochSecond());
        return new Outcome(sigs.getBytes(StandardCharsets.ISO_8859_1), null, null, "dkim-signed=" + signKeys.size(),
                () -> services.count("dkim-sign", "signed"));
    }

    /** RFC 7208: MAIL FROM decides (the HELO identity for the null sender); HELO is reported too (2.3). */
    private Spf.Outcome spf(Verdicts v) {
        Spf.Outcome spf = services.spf().mailFrom(origin.client(), origin.sender(), origin.helo());
        boolean nullSender = origin.sender() == null;
        v.ar.add("spf", spf.result().label(), spf.reason(), nullSender ? "smtp.helo" : "smtp.mailfrom",
                octets(nullSender ? origin.helo() : origin.sender()));
        if (!nullSender && origin.helo() != null && origin.helo().contains(".") && !origin.helo().startsWith("[")) {
            Spf.Outcome helo = services.spf().mailFrom(origin.client(), null, origin.helo());
            v.ar.add("spf", helo.result().label(), helo.reason(), "smtp.helo", octets(origin.helo()));
        }
        v.count("spf", spf.result().label());
        v.summary += " spf=" + spf.result().label();
        return spf;
    }

    private List<DkimVerifier.Result> dkim(Verdicts v) {
        List<DkimVerifier.Result> dkim = verifier.finish(services.keys(), clock.instant());
        if (dkim.isEmpty()) {
            v.count("dkim", "none");
            v.ar.add("dkim", "none", null);
        }
        for (DkimVerifier.Result r : dkim) {
            v.count("dkim", r.result());
            v.ar.add("dkim", r.result(), r.reason(), "header.d", r.domain(), "header.i", r.identity(), "header.s", r.selector(),
                    "header.a", r.algorithm(), "header.b", r.signaturePrefix());
        }
        v.summary += " dkim=" + (dkim.isEmpty() ? "none" : dkim.stream().map(DkimVerifier.Result::result).toList());
        return dkim;
    }

    /** RFC 7489: alignment, then what the domain's policy asks and we are configured to do. */
    private void dmarc(Verdicts v, Spf.Outcome spf, List<DkimVerifier.Result> dkim) {
        List<String> fromDomains = FromDomains.of(header.fields());
        if (fromDomains.isEmpty() || fromDomains.stream().distinct().count() > 1) {
            // RFC 7489 6.6.1: without exactly one From domain DMARC cannot be applied
            v.ar.add("dmarc", fromDomains.isEmpty() ? "none" : "permerror", fromDomains.isEmpty() ? "no From domain" : "several From domains");
            return;
        }
        String spfDomain = spf.result() == Spf.Result.PASS ? spf.domain() : null;
        List<String> passed = dkim.stream().filter(DkimVerifier.Result::passed).map(DkimVerifier.Result::domain).toList();
        Dmarc.Evaluation e = services.dmarc().evaluate(fromDomains.get(0), spfDomain, passed);
        String result = e.result().name().toLowerCase(Locale.ROOT);
        String p = e.policy().name().toLowerCase(Locale.ROOT);
        v.ar.add("dmarc", result, e.result() == Dmarc.Result.FAIL ? "p=" + p : null,
                "header.from", e.fromDomain(), "policy.dmarc", e.result() == Dmarc.Result.NONE ? null : p);
        v.summary += " dmarc=" + result;
        v.count("dmarc", result);
        String disposition = "none";
        boolean enforce = services.settings().dmarc().equals("enforce") && e.result() == Dmarc.Result.FAIL;
        if (enforce && e.disposition() == Dmarc.Disposition.REJECT && v.refusal == null) {
            v.refusal = Reply.of(550, "5.7.1", "Message rejected per the DMARC policy of " + e.policyDomain());
            disposition = "reject";
        } else if (enforce && e.disposition() != Dmarc.Disposition.NONE) {
            disposition = "quarantine";
            if (services.settings().dmarcQuarantine().equals("hold")) v.hold = "DMARC quarantine policy of " + e.policyDomain();
            else v.extra.append("X-Postern-Quarantine: DMARC policy of ").append(e.policyDomain()).append("\r\n");
        }
        if (services.settings().dmarcReports() && services.reports() != null) {
            List<Map.Entry<String, String>> rows = new ArrayList<>();
            for (DkimVerifier.Result r : dkim) rows.add(new AbstractMap.SimpleEntry<>(r.domain(), r.result()));
            String row = disposition;
            v.effects.add(() -> services.reports().record(origin.client().getHostAddress(), e, origin.sender(), spf, rows, row));
        }
    }

    /** RFC 8617 5.1: our ARC set, when sealing is on and the seal domain has an RSA key (ARC defines rsa-sha256 only). */
    private String seal(dev.postern.message.Arc.Validation chain, AuthenticationResults ar) {
        if (!services.settings().arcSeal()) return null;
        DkimSigner.Key key = services.signing().forDomain(services.settings().arcSealDomain()).stream()
                .filter(k -> k.algorithm().equals("rsa-sha256")).findFirst().orElse(null);
        if (key == null) {
            log.warn("arc_seal is on but {} has no RSA DKIM key in the key directory; not sealing", services.settings().arcSealDomain());
            return null;
        }
        try {
            return arc.seal(chain, ar.body(), key, clock.instant().getEpochSecond());
        } catch (Exception e) {
            log.warn("cannot add an ARC set: {}", e.toString());
            return null;
        }
    }

    /**
     * Header text here is handled as ISO-8859-1, one char per octet, so DKIM and ARC see the exact bytes;
     * an SMTPUTF8 address goes in as its UTF-8 octets.
     */
    private static String octets(String s) {
        return s == null ? null : new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    private static byte[] bytes(StringBuilder sb) { return sb.toString().getBytes(StandardCharsets.ISO_8859_1); }
}
