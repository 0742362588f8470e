package dev.postern.deliver;

import dev.postern.mail.Envelope;
import dev.postern.mail.Outcome;
import dev.postern.mail.Recipient;
import dev.postern.mail.Reply;
import dev.postern.route.Hop;
import dev.postern.route.RouteDecision;
import dev.postern.tls.Dane;
import dev.postern.tls.DanePlan;
import dev.postern.tls.MtaSts;
import dev.postern.tls.MtaStsPolicy;
import dev.postern.tls.PeerVerifier;
import dev.postern.tls.TlsLevel;
import dev.postern.tls.TlsPolicy;
import dev.postern.tls.TlsReports;
import dev.postern.tls.TlsaMatcher;
import org.xbill.DNS.TLSARecord;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The outbound SMTP (and LMTP) client: tries the route's hops in order and returns one outcome per
 * recipient. It never decides retry timing; the queue does.
 *
 * <p>TLS: "may" uses STARTTLS when offered and falls back to plaintext on the same hop only if the
 * handshake fails (before any mail data); "encrypt" and the relayhost require it. Certificates are not
 * verified (opportunistic TLS, as Postfix's "may" and "encrypt" levels).
 */
public final class SmtpDelivery implements AutoCloseable {

    /**
     * RFC 5321 4.5.3.2 time-outs, who we are, and the TLS level per destination with what judges certificates
     * (null when no level authenticates peers).
     */
    public record Settings(String heloName, InetSocketAddress bindAddress, TlsPolicy tls, PeerVerifier verifier, MtaSts mtaSts,
                           TlsReports reports, String relayUser, String relayPassword, Duration connectTimeout, Duration commandTimeout,
                           Duration dataTimeout, Dane dane) {
        public Settings(String heloName, InetSocketAddress bindAddress, TlsPolicy tls, PeerVerifier verifier, MtaSts mtaSts,
                        TlsReports reports, String relayUser, String relayPassword, Duration connectTimeout, Duration commandTimeout,
                        Duration dataTimeout) {
            this(heloName, bindAddress, tls, verifier, mtaSts, reports, relayUser, relayPassword, connectTimeout, commandTimeout,
                    dataTimeout, null);
        }

        public static Settings defaults(String heloName) {
            return new Settings(heloName, null, TlsPolicy.MAY, null, null, null, null, null, Duration.ofSeconds(30),
                    Duration.ofMinutes(5), Duration.ofMinutes(10));
        }

        /** DNSSEC-validated lookups for the levels dane and dane-only. */
        public Settings withDane(Dane d) {
            return new Settings(heloName, bindAddress, tls, verifier, mtaSts, reports, relayUser, relayPassword, connectTimeout,
                    commandTimeout, dataTimeout, d);
        }
    }

    /** What a TLS report counts a session under: the recipient domain and the policy applied (RFC 8460 4.3). */
    record Reported(String domain, TlsReports.PolicyType type, String policy, String failureType) {
        Reported(String domain, TlsReports.PolicyType type, String policy) { this(domain, type, policy, null); }
    }

    /**
     * What TLS a session must have: the level, and the names its certificate must carry when it authenticates;
     * stsTesting names the domain whose MTA-STS policy is in testing mode (check, log, deliver anyway).
     */
    record Security(TlsLevel level, List<String> names, String stsTesting, Reported report, List<TLSARecord> tlsa) {
        Security(TlsLevel level, List<String> names, String stsTesting, Reported report) { this(level, names, stsTesting, report, null); }

        String key() {
            return level + (names.isEmpty() ? "" : ":" + String.join(",", names)) + (stsTesting == null ? "" : ":sts-testing")
                    + (tlsa == null ? "" : ":tlsa=" + tlsa.hashCode());
        }

        boolean requiresTls() { return tlsa != null || level.requiresTls(); }

        boolean authenticates() { return tlsa != null || level.authenticates(); }
    }

    /**
     * The MTA-STS policy for mail routed by the domain's own MX records (RFC 8461 applies to nothing else),
     * unless [tls_policy] names the domain: an explicit local choice stands.
     */
    private MtaStsPolicy stsFor(RouteDecision.Hops route, String domain) {
        if (settings.mtaSts() == null || route.viaRelayhost() || route.nexthop().noMx() || !route.nexthop().host().equals(domain)) return null;
        if (settings.tls().explicitFor(domain) != null) return null;
        MtaStsPolicy p = settings.mtaSts().policyFor(domain);
        return p == null || p.mode() == MtaStsPolicy.Mode.NONE ? null : p;
    }

    /**
     * RFC 8689 4.2.1: a REQUIRETLS message goes only to next hops whose identity TLS proves — here the levels
     * verify and secure — and never over the network otherwise (a unix-domain socket stays on this machine).
     */
    private Reply requireTlsRefusal(RouteDecision.Hops route, String domain, MtaStsPolicy sts, DanePlan dane) {
        if (route.hops().stream().allMatch(Hop::isUnixSocket)) return null;
        if (sts != null && sts.mode() == MtaStsPolicy.Mode.ENFORCE) return null; // every hop will be verified
        if (dane != null && !route.hops().isEmpty() && route.hops().stream().allMatch(dane::authenticates)) return null;
        TlsLevel level = settings.tls().levelFor(domain);
        if (level.authenticates()) return null;
        // RFC 3463 X.7.10: encryption needed
        return Reply.of(550, "5.7.10", "REQUIRETLS: the TLS level for " + domain + " is " + level
                + ", which does not authenticate the next hop (verify, secure, DANE or MTA-STS enforce would)");
    }

    /** The DANE plan when the destination's level is dane or dane-only and DNSSEC lookups are set up, else null. */
    private DanePlan danePlan(RouteDecision.Hops route, String domain) {
        TlsLevel level = settings.tls().levelFor(domain);
        if (!level.isDane() || route.hops().stream().allMatch(Hop::isUnixSocket)) return null;
        if (settings.dane() == null) {
            return new DanePlan(level, Reply.of(451, "4.7.5", "TLS level " + level + " for " + domain + ", but DNSSEC lookups are not set up"),
                    route, java.util.Map.of());
        }
        return DanePlan.of(settings.dane(), route, domain, level);
    }

    /** The level for mail to this domain over this route (a relayhost always needs encryption) and, per hop, the names. */
    private Security security(RouteDecision.Hops route, String domain, Hop hop, MtaStsPolicy sts, DanePlan dane) {
        TlsLevel level = settings.tls().levelFor(domain);
        if (dane != null) {
            Dane.Host h = dane.host(hop);
            Reported report = reportable(route, domain) && h != null && !h.text().isEmpty()
                    ? new Reported(domain, TlsReports.PolicyType.TLSA, String.join("\n", h.text())) : null;
            if (h != null && h.state() == Dane.State.AUTHENTICATE) {
                // RFC 7672 3.2.2: a DANE-TA chain must name the MX host (the TLSA base domain) or the next-hop domain
                return new Security(level, List.of(hop.host(), route.nexthop().host()), null, report, h.records());
            }
            if (h != null && h.state() == Dane.State.ENCRYPT) {
                // RFC 8460 4.3.4: the domain's TLSA records could not be used; the session goes encrypted, unauthenticated
                Reported unusable = report == null ? null : new Reported(domain, TlsReports.PolicyType.TLSA, report.policy(), "tlsa-invalid");
                return new Security(TlsLevel.ENCRYPT, List.of(), null, unusable);
            }
            level = TlsLevel.MAY; // no DANE for this host (dane-only hosts were refused before): opportunistic TLS
        }
        if (route.viaRelayhost() && !level.requiresTls()) level = TlsLevel.ENCRYPT;
        // RFC 8461 4.2: under an enforce policy the MX host must present a valid certificate for its own name
        if (sts != null && sts.mode() == MtaStsPolicy.Mode.ENFORCE && level.compareTo(TlsLevel.VERIFY) < 0) level = TlsLevel.VERIFY;
        List<String> names = switch (level) {
            case VERIFY -> List.of(hop.host());                                   // the MX host as found in DNS
            case SECURE -> List.of(route.nexthop().host(), "." + route.nexthop().host()); // Postfix: nexthop, dot-nexthop
            default -> sts != null ? List.of(hop.host()) : List.of();
        };
        Reported report = null;
        if (reportable(route, domain)) {
            report = sts != null ? new Reported(domain, TlsReports.PolicyType.STS, sts.text()) : new Reported(domain, TlsReports.PolicyType.NONE, "");
        }
        return new Security(level, names, sts != null && sts.mode() == MtaStsPolicy.Mode.TESTING ? domain : null, report);
    }

    private static List<Outcome> allFail(List<Recipient> rcpts, Reply why) {
        List<Outcome> out = new ArrayList<>();
        for (Recipient r : rcpts) out.add(Outcome.fromReply("none", why, false));
        return out;
    }

    /** TLS reports are about mail routed by the recipient domain's own MX records (RFC 8460 3). */
    private boolean reportable(RouteDecision.Hops route, String domain) {
        return settings.reports() != null && !route.viaRelayhost() && !route.nexthop().noMx() && route.nexthop().host().equals(domain);
    }

    /** Opens the message content; called once per transaction actually sent. */
    public interface Content {
        InputStream open() throws IOException;
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("postern.tls");

    private final Settings settings;
    private final EventLoopGroup group;
    private final Class<? extends Channel> channelClass;
    private final SslContext tlsContext;
    private final ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(5));
    /** Bodies up to this size are read whole and sent by the event loop; larger ones stream from the thread. */
    private static final long INLINE_BODY = 256 * 1024;

    public SmtpDelivery(Settings settings) throws IOException {
        this.settings = settings;
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(2, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.channelClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        try {
            this.tlsContext = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
                    .protocols("TLSv1.3", "TLSv1.2").build();
        } catch (Exception e) {
            throw new IOException("cannot set up client TLS: " + e.getMessage(), e);
        }
    }

    /** Thrown inside a hop attempt when the next hop should be tried. */
    private static final class NextHop extends Exception {
        final Reply reply;
        final boolean tlsHandshakeFailed;

        NextHop(Reply reply) { this(reply, false); }

        NextHop(Reply reply, boolean tlsHandshakeFailed) {
            super(reply.toString(), null, false, false);
            this.reply = reply;
            this.tlsHandshakeFailed = tlsHandshakeFailed;
        }
    }

    public List<Outcome> deliver(RouteDecision.Hops route, Envelope env, List<Recipient> rcpts, long size, Content content) {
        Reply last = Reply.of(451, "4.4.1", "no route hops to try");
        String domain = rcpts.get(0).address().domain();
        DanePlan dane = danePlan(route, domain);
        // RFC 8461 2: where DANE applies, MTA-STS does not
        MtaStsPolicy sts = dane == null ? stsFor(route, domain)
                : dane.refusal() == null && !dane.governs() ? stsFor(dane.route(), domain) : null;
        // RFC 8689 5: "TLS-Required: No" asks that the recipient's policies be ignored, unless REQUIRETLS was asked for
        if ((dane != null || sts != null) && !env.requireTls() && tlsNotRequired(content)) {
            dane = null;
            sts = null;
        }
        if (dane != null && dane.refusal() != null) {
            if (dane.refusal().enhanced().equals("4.7.5") && reportable(route, domain)) {
                settings.reports().failure(domain, TlsReports.PolicyType.TLSA, "", "dnssec-invalid", "", "");
            }
            return allFail(rcpts, dane.refusal());
        }
        if (dane != null) route = dane.route();
        if (sts != null && sts.mode() == MtaStsPolicy.Mode.ENFORCE) {
            MtaStsPolicy enforced = sts;
            List<Hop> allowed = route.hops().stream().filter(h -> enforced.allows(h.host())).toList();
            if (allowed.isEmpty()) {
                Reply none = Reply.of(451, "4.7.5", "MTA-STS policy of " + domain + " (enforce) allows MX " + sts.mx() + "; none of "
                        + route.hops().stream().map(Hop::host).distinct().toList() + " matches");
                return allFail(rcpts, none);
            }
            route = new RouteDecision.Hops(route.nexthop(), allowed, route.viaRelayhost());
        }
        Reply unauthenticated = env.requireTls() ? requireTlsRefusal(route, domain, sts, dane) : null;
        if (unauthenticated != null) return allFail(rcpts, unauthenticated);
        for (Hop hop : route.hops()) {
            Reply refused = dane == null ? null : dane.refusal(hop);
            if (refused != null) {
                log.warn("{}: not used: {}", hop, String.join(" ", refused.lines()));
                Dane.Host h = dane.host(hop);
                if (h != null && (h.state() == Dane.State.BOGUS || h.state() == Dane.State.ENCRYPT) && reportable(route, domain)) {
                    settings.reports().failure(domain, TlsReports.PolicyType.TLSA, String.join("\n", h.text()),
                            h.state() == Dane.State.BOGUS ? "dnssec-invalid" : "tlsa-invalid", hop.host(), hop.address().getHostAddress());
                }
                last = refused;
                continue;
            }
            Security sec = security(route, domain, hop, sts, dane);
            boolean allowTls = sec.level() != TlsLevel.NONE;
            for (int tries = 0; tries < 3; tries++) {
                Session s;
                try {
                    s = session(hop, route.viaRelayhost(), route.nexthop().isLmtp(), allowTls, sec);
                    return new Transaction(s, env, rcpts, size, content).run();
                } catch (NextHop e) {
                    last = e.reply;
                    if (e.tlsHandshakeFailed && allowTls && sec.level() == TlsLevel.MAY) {
                        allowTls = false; // "may": retry this hop in plaintext; no mail data was sent
                        continue;
                    }
                    break;
                } catch (StaleConnection e) {
                    continue; // a cached connection had died; try a fresh one
                }
            }
        }
        Reply finalReply = last;
        List<Outcome> out = new ArrayList<>();
        String relay = route.hops().isEmpty() ? "none" : route.hops().get(route.hops().size() - 1).toString();
        for (Recipient r : rcpts) out.add(Outcome.fromReply(relay, finalReply, false));
        return out;
    }

    /**
     * Asks the route's hops whether they take this recipient, as Postfix's address verification does:
     * MAIL FROM:&lt;&gt;, RCPT TO, then RSET, and no message. The reply is the next hop's to RCPT, with its
     * words ("host H said: 550 5.1.1 ..."), or a 4xx when no hop could be asked.
     */
    public Reply probe(RouteDecision.Hops route, dev.postern.mail.Address rcpt) {
        Reply last = Reply.of(451, "4.4.1", "no route hops to try");
        DanePlan dane = danePlan(route, rcpt.domain());
        if (dane != null && dane.refusal() != null) return dane.refusal();
        MtaStsPolicy sts = dane != null && dane.governs() ? null : stsFor(route, rcpt.domain());
        for (Hop hop : route.hops()) {
            for (int tries = 0; tries < 2; tries++) {
                Session s;
                try {
                    Reply refused = dane == null ? null : dane.route().hops().contains(hop) ? dane.refusal(hop)
                            : Reply.of(451, "4.7.5", "DANE: " + hop.host() + " is not a DNSSEC-validated MX host");
                    if (refused != null) throw new NextHop(refused);
                    Security sec = security(route, rcpt.domain(), hop, sts, dane);
                    s = session(hop, route.viaRelayhost(), route.nexthop().isLmtp(), sec.level() != TlsLevel.NONE, sec);
                } catch (NextHop e) {
                    last = e.reply;
                    break;
                }
                try {
                    Reply mail = s.command("MAIL FROM:<>", settings.commandTimeout());
                    if (!mail.isPositive()) {
                        s.release(false);
                        last = Reply.of(451, "4.4.0", "host " + s.relay() + " refused the probe's sender: " + said(mail));
                        break;
                    }
                    Reply r = s.command("RCPT TO:<" + rcpt + ">", settings.commandTimeout());
                    Reply rset = s.command("RSET", settings.commandTimeout());
                    s.release(rset.isPositive());
                    return new Reply(r.code(), r.enhanced(), List.of("host " + s.relay() + " said: " + said(r)));
                } catch (IOException e) {
                    s.conn.close();
                    if (s.reused) continue; // a cached connection had died; try a fresh one
                    last = Reply.of(451, "4.4.2", "lost connection with " + s.relay() + ": " + e.getMessage());
                    break;
                }
            }
        }
        return last;
    }

    private static String said(Reply r) {
        return r.code() + (r.enhanced() == null ? "" : " " + r.enhanced()) + " " + String.join(" ", r.lines());
    }

    /** A connected, greeted, (TLS'd, authenticated) session, fresh or from the cache. */
    final class Session {
        final OutboundConnection conn;
        final EhloKeywords ext;
        final boolean reused;
        final boolean lmtp;

        final Security security;

        Session(OutboundConnection conn, EhloKeywords ext, boolean reused, boolean lmtp, Security security) {
            this.conn = conn;
            this.ext = ext;
            this.reused = reused;
            this.lmtp = lmtp;
            this.security = security;
        }

        String relay() { return conn.hop().toString(); }

        Reply command(String line, Duration timeout) throws IOException {
            conn.send(line);
            return conn.read(timeout);
        }

        void release(boolean reusable) {
            if (reusable && conn.isOpen()) {
                cache.offer(key(conn.hop(), lmtp, security), this);
            } else {
                quit(conn);
            }
        }
    }

    static final class StaleConnection extends Exception {
        StaleConnection() { super(null, null, false, false); }
    }

    /** A cached session serves only mail that needs the same security: a "may" session never carries "verify" mail. */
    private static String key(Hop hop, boolean lmtp, Security sec) {
        return sec.key() + "|" + (lmtp ? "lmtp:" : "smtp:") + (hop.isUnixSocket() ? "unix:" + hop.socketPath() : hop.address().getHostAddress() + ":" + hop.port());
    }

    private Session session(Hop hop, boolean viaRelayhost, boolean lmtp, boolean allowTls, Security sec) throws NextHop {
        Session cached = cache.take(key(hop, lmtp, sec));
        if (cached != null) return new Session(cached.conn, cached.ext, true, lmtp, sec);
        OutboundConnection c;
        try {
            c = OutboundConnection.open(group, channelClass, hop, settings.bindAddress(), settings.connectTimeout(),
                    settings.dataTimeout());
        } catch (IOException e) {
            throw new NextHop(Reply.of(451, "4.4.1", e.getMessage()));
        }
        try {
            Reply greeting = c.read(settings.commandTimeout());
            if (!greeting.isPositive()) {
                quit(c);
                throw new NextHop(Reply.of(greeting.isPermanent() ? 554 : 451, greeting.isPermanent() ? "5.0.0" : "4.0.0",
                        "host " + hop + " refused to talk to me: " + greeting));
            }
            EhloKeywords ext = hello(c, lmtp);
            boolean required = sec.requiresTls();
            // RFC 3463 X.7.5 (cryptographic failure) for every way a required TLS can fail: the mail waits, never goes in plaintext
            if (ext.has("STARTTLS") && (allowTls || required)) {
                Reply r = c.command("STARTTLS", settings.commandTimeout());
                if (r.isPositive()) {
                    try {
                        c.startTls(tlsContext, settings.commandTimeout());
                    } catch (IOException e) {
                        c.close();
                        countFailure(sec, "validation-failure", hop);
                        throw new NextHop(Reply.of(451, required ? "4.7.5" : "4.7.4", "TLS handshake failed with " + hop + ": " + e.getMessage()), true);
                    }
                    if (sec.authenticates()) authenticatePeer(c, sec);
                    else if (sec.stsTesting() != null) reportOnly(c, sec);
                    else countSuccess(sec, hop);
                    ext = hello(c, lmtp); // RFC 3207 4.2: start over after TLS
                } else if (required) {
                    quit(c);
                    throw new NextHop(Reply.of(451, "4.7.5", "TLS is required (level " + sec.level() + "), but " + hop + " refused STARTTLS: " + r));
                }
            } else if (required) {
                quit(c);
                countFailure(sec, "starttls-not-supported", hop);
                throw new NextHop(Reply.of(451, "4.7.5", "TLS is required (level " + sec.level() + "), but was not offered by host " + hop));
            } else if (!ext.has("STARTTLS")) {
                countFailure(sec, "starttls-not-supported", hop);
            }
            if (!ext.has("STARTTLS") && sec.stsTesting() != null) {
                log.warn("MTA-STS testing policy of {}: {} does not offer STARTTLS (starttls-not-supported); delivering anyway",
                        sec.stsTesting(), hop);
            }
            if (viaRelayhost && settings.relayUser() != null) authenticate(c, ext);
            return new Session(c, ext, false, lmtp, sec);
        } catch (IOException e) {
            c.close();
            throw new NextHop(Reply.of(451, "4.4.2", e.getMessage()));
        }
    }

    private void countSuccess(Security sec, Hop hop) {
        if (sec.report() != null && sec.report().failureType() != null) countFailure(sec, sec.report().failureType(), hop);
        else if (sec.report() != null) settings.reports().success(sec.report().domain(), sec.report().type(), sec.report().policy());
    }

    private void countFailure(Security sec, String resultType, Hop hop) {
        if (sec.report() == null) return;
        settings.reports().failure(sec.report().domain(), sec.report().type(), sec.report().policy(), resultType, hop.host(),
                hop.address() == null ? "" : hop.address().getHostAddress());
    }

    /** An MTA-STS policy in testing mode: what enforce would have refused is logged and counted, and the mail goes on. */
    private void reportOnly(OutboundConnection c, Security sec) {
        PeerVerifier.Failure f = settings.verifier() == null ? null : settings.verifier().check(c.peerCertificates(), sec.names());
        if (f == null) countSuccess(sec, c.hop());
        else countFailure(sec, f.resultType(), c.hop());
        if (f != null) {
            log.warn("MTA-STS testing policy of {}: certificate of {} would be refused ({}): {}; delivering anyway", sec.stsTesting(),
                    c.hop(), f.resultType(), f.detail());
        }
    }

    /** The level asks who the peer is: a trusted chain whose certificate names what the level requires. */
    private void authenticatePeer(OutboundConnection c, Security sec) throws NextHop {
        PeerVerifier.Failure f = sec.tlsa() != null ? TlsaMatcher.check(sec.tlsa(), c.peerCertificates(), sec.names())
                : settings.verifier() == null ? new PeerVerifier.Failure("validation-failure", "no trusted CAs loaded")
                : settings.verifier().check(c.peerCertificates(), sec.names());
        if (f == null) {
            countSuccess(sec, c.hop());
            return;
        }
        countFailure(sec, f.resultType(), c.hop());
        quit(c);
        throw new NextHop(Reply.of(451, "4.7.5", "TLS level " + sec.level() + (sec.tlsa() != null ? " (TLSA)" : "") + ": certificate of " + c.hop() + " not accepted ("
                + f.resultType() + "): " + f.detail()));
    }

    /** EHLO, falling back to HELO when the peer refuses it (RFC 5321 4.1.4); LHLO for LMTP (RFC 2033). */
    private EhloKeywords hello(OutboundConnection c, boolean lmtp) throws IOException, NextHop {
        Reply r = c.command((lmtp ? "LHLO " : "EHLO ") + settings.heloName(), settings.commandTimeout());
        if (r.isPositive()) return EhloKeywords.parse(r);
        if (!lmtp && r.isPermanent()) {
            Reply h = c.command("HELO " + settings.heloName(), settings.commandTimeout());
            if (h.isPositive()) return EhloKeywords.NONE;
            r = h;
        }
        quit(c);
        throw new NextHop(Reply.of(r.isPermanent() ? 554 : 451, r.isPermanent() ? "5.5.0" : "4.5.0",
                "host " + c.hop() + " refused EHLO/HELO: " + r));
    }

    /** RFC 4954 with the relayhost's credentials: PLAIN if offered, else LOGIN. Failure defers, as Postfix does. */
    private void authenticate(OutboundConnection c, EhloKeywords ext) throws IOException, NextHop {
        String user = settings.relayUser();
        String pass = settings.relayPassword();
        Reply r;
        if (ext.authMechanisms().contains("PLAIN")) {
            r = c.command("AUTH PLAIN " + b64("\0" + user + "\0" + pass), settings.commandTimeout());
        } else if (ext.authMechanisms().contains("LOGIN")) {
            r = c.command("AUTH LOGIN", settings.commandTimeout());
            if (r.code() == 334) r = c.command(b64(user), settings.commandTimeout());
            if (r.code() == 334) r = c.command(b64(pass), settings.commandTimeout());
        } else {
            quit(c);
            throw new NextHop(Reply.of(451, "4.7.0", "relay host " + c.hop() + " offers no AUTH mechanism we support"));
        }
        if (r.code() != 235) {
            quit(c);
            throw new NextHop(Reply.of(451, "4.7.0", "SASL authentication failed at " + c.hop() + ": " + r));
        }
    }

    private static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

    private void quit(OutboundConnection c) {
        if (c.isOpen()) {
            try {
                c.send("QUIT");
                c.read(Duration.ofSeconds(2));
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        c.close();
    }

    /** Where a transaction's next reply comes from: the connection, or what the event loop gathered. */
    private interface Replies {
        Reply next() throws IOException;
    }

    /** One mail transaction on a session; see {@link Transaction#run()}. */
    private final class Transaction {
        private final Session s;
        private final Envelope env;
        private final List<Recipient> rcpts;
        private final long size;
        private final Content content;

        Transaction(Session s, Envelope env, List<Recipient> rcpts, long size, Content content) {
            this.s = s;
            this.env = env;
            this.rcpts = rcpts;
            this.size = size;
            this.content = content;
        }

        List<Outcome> run() throws NextHop, StaleConnection {
            String relay = s.relay();
            Reply refusal = refusalBeforeSending();
            if (refusal != null) {
                s.release(true);
                return all(Outcome.fromReply(relay, refusal, false));
            }
            boolean dsn = s.ext.has("DSN");
            List<String> commands = new ArrayList<>();
            commands.add(mailCommand(dsn));
            for (Recipient r : rcpts) commands.add(rcptCommand(r, dsn));
            boolean pipelining = s.ext.has("PIPELINING");
            Outcome[] outcomes = new Outcome[rcpts.size()];
            boolean anyReply = false;
            try {
                Reply mail;
                List<Integer> accepted = new ArrayList<>();
                Reply data = null;
                Replies finals = null; // the replies to the message, once it has gone
                if (pipelining) {
                    // RFC 2920 3.1: MAIL, RCPTs and DATA go as one group; replies come back in order
                    commands.add("DATA");
                    Replies replies;
                    java.util.Iterator<Reply> got = null;
                    if (size <= INLINE_BODY) {
                        // the event loop sends the group, and the body too when the replies allow it
                        got = transact(commands, outcomes).iterator();
                        replies = got::next;
                    } else {
                        s.conn.send(String.join("\r\n", commands));
                        replies = () -> s.conn.read(settings.commandTimeout());
                    }
                    mail = replies.next();
                    anyReply = true;
                    for (int i = 0; i < rcpts.size(); i++) {
                        Reply r = replies.next();
                        if (r.isPositive()) accepted.add(i); else outcomes[i] = Outcome.fromReply(relay, r, false);
                    }
                    data = replies.next();
                    if (got != null && got.hasNext()) finals = replies; // the body went: these answer it
                } else {
                    mail = s.command(commands.get(0), settings.commandTimeout());
                    anyReply = true;
                    if (mail.isPositive()) {
                        for (int i = 0; i < rcpts.size(); i++) {
                            Reply r = s.command(commands.get(i + 1), settings.commandTimeout());
                            if (r.isPositive()) accepted.add(i); else outcomes[i] = Outcome.fromReply(relay, r, false);
                        }
                        if (!accepted.isEmpty()) data = s.command("DATA", settings.commandTimeout());
                    }
                }
                if (!mail.isPositive()) {
                    if (data != null && data.code() == 354) s.conn.sendData(InputStream.nullInputStream(), 0);
                    s.release(false);
                    return all(Outcome.fromReply(relay, mail, false));
                }
                if (accepted.isEmpty()) {
                    if (data != null && data.code() == 354) {
                        s.conn.sendData(InputStream.nullInputStream(), 0); // RFC 2920 3.1: end the empty DATA
                        s.conn.read(settings.dataTimeout());
                    }
                    s.command("RSET", settings.commandTimeout());
                    s.release(true);
                    return List.of(outcomes);
                }
                if (data.code() != 354) {
                    for (int i : accepted) outcomes[i] = Outcome.fromReply(relay, data, false);
                    s.command("RSET", settings.commandTimeout());
                    s.release(true);
                    return List.of(outcomes);
                }
                if (finals == null) {
                    try (InputStream in = content.open()) {
                        s.conn.sendData(in, size);
                    }
                    finals = () -> s.conn.read(settings.dataTimeout());
                }
                // RFC 2033 4.2: LMTP answers once per accepted recipient; SMTP once for all
                boolean ok = true;
                Reply fin = null;
                for (int i : accepted) {
                    if (s.lmtp || fin == null) fin = finals.next();
                    outcomes[i] = Outcome.fromReply(relay, fin, dsn && fin.isPositive());
                    ok &= fin.isPositive();
                }
                s.release(ok);
                return List.of(outcomes);
            } catch (IOException e) {
                s.conn.close();
                anyReply |= e instanceof OutboundConnection.Lost l && !l.got.isEmpty();
                if (s.reused && !anyReply) throw new StaleConnection();
                if (!anyReply) throw new NextHop(Reply.of(451, "4.4.2", e.getMessage()));
                Reply lost = Reply.of(451, "4.4.2", e.getMessage());
                for (int i = 0; i < outcomes.length; i++) {
                    if (outcomes[i] == null || outcomes[i].kind() == Outcome.Kind.DELIVERED) outcomes[i] = Outcome.temporary(relay, lost);
                }
                return List.of(outcomes);
            }
        }

        /**
         * The pipelined group and, on a go, the body, driven by the event loop: the delivery thread waits once
         * instead of once per reply. A connection lost part way leaves the refusals that did arrive in outcomes.
         */
        private List<Reply> transact(List<String> commands, Outcome[] outcomes) throws IOException, NextHop {
            ByteBuf body;
            try (InputStream in = content.open()) {
                body = s.conn.stuffed(in, size);
            } catch (IOException e) {
                s.release(true); // nothing was sent on it
                throw new NextHop(Reply.of(451, "4.3.0", "cannot read the queued message: " + e.getMessage()));
            }
            try {
                return s.conn.transact(String.join("\r\n", commands), commands.size(), body, s.lmtp,
                        settings.commandTimeout(), settings.dataTimeout());
            } catch (OutboundConnection.Lost e) {
                // a recipient the peer refused before the loss keeps its refusal (the MAIL having been taken)
                boolean mailTaken = !e.got.isEmpty() && e.got.get(0).isPositive();
                for (int i = 1; mailTaken && i < e.got.size() && i <= rcpts.size(); i++) {
                    if (!e.got.get(i).isPositive()) outcomes[i - 1] = Outcome.fromReply(s.relay(), e.got.get(i), false);
                }
                throw e;
            }
        }

        /** What the peer's EHLO already tells us it cannot take, before any byte of the message is sent. */
        private Reply refusalBeforeSending() throws NextHop {
            long max = s.ext.maxSize();
            if (max > 0 && size > max) {
                return Reply.of(552, "5.3.4", "message size " + size + " exceeds size limit " + max + " of " + s.relay());
            }
            // our choice (README): no 7-bit downgrade; RFC 6152 3 forbids sending 8-bit data to a 7-bit peer
            if ("8BITMIME".equals(env.body()) && !s.ext.has("8BITMIME")) {
                return Reply.of(554, "5.6.3", s.relay() + " does not support 8BITMIME and the message is 8-bit");
            }
            // RFC 6531 3.2 says such a message may not go on; like Postfix (SMTPUTF8_README) we decide on the content:
            // the parameter alone, which many clients always send, does not make an all-ASCII message need SMTPUTF8
            // RFC 8689 4.2.1 and 7: the next hop must carry the requirement on, so it must offer REQUIRETLS
            if (env.requireTls() && !s.conn.hop().isUnixSocket() && !s.ext.has("REQUIRETLS")) {
                return Reply.of(550, "5.7.30", "REQUIRETLS support required: " + s.relay() + " does not offer REQUIRETLS");
            }
            if (env.smtpUtf8() && !s.ext.has("SMTPUTF8") && needsSmtpUtf8()) {
                return Reply.of(553, "5.6.7", s.relay() + " does not support SMTPUTF8, which this message needs");
            }
            return null;
        }

        /** Whether the envelope addresses or the header section of this message contain anything but ASCII. */
        private boolean needsSmtpUtf8() throws NextHop {
            if (!env.sender().isNull() && !env.sender().address().isAscii()) return true;
            for (Recipient r : rcpts) if (!r.address().isAscii()) return true;
            try (InputStream in = content.open()) {
                return headerHasNonAscii(in);
            } catch (IOException e) {
                s.release(true); // nothing was sent on it
                throw new NextHop(Reply.of(451, "4.3.0", "cannot read the queued message: " + e.getMessage()));
            }
        }

        private String mailCommand(boolean dsn) {
            StringBuilder sb = new StringBuilder("MAIL FROM:<").append(env.sender()).append('>');
            if (s.ext.has("SIZE")) sb.append(" SIZE=").append(size);
            if (env.body() != null && s.ext.has("8BITMIME")) sb.append(" BODY=").append(env.body());
            if (env.smtpUtf8() && s.ext.has("SMTPUTF8")) sb.append(" SMTPUTF8");
            if (env.requireTls() && s.ext.has("REQUIRETLS")) sb.append(" REQUIRETLS");
            if (dsn && env.ret() != null) sb.append(" RET=").append(env.ret());
            if (dsn && env.envid() != null) sb.append(" ENVID=").append(env.envid());
            return sb.toString();
        }

        private String rcptCommand(Recipient r, boolean dsn) {
            StringBuilder sb = new StringBuilder("RCPT TO:<").append(r.address()).append('>');
            // RFC 3461 5.2.1: pass NOTIFY and ORCPT on to a DSN-capable next hop
            if (dsn && r.notifyOn() != null) sb.append(" NOTIFY=").append(r.notifyOn());
            if (dsn) sb.append(" ORCPT=").append(r.orcpt() != null ? r.orcpt() : "rfc822;" + xtext(r.address().toString()));
            return sb.toString();
        }

        private List<Outcome> all(Outcome o) {
            List<Outcome> out = new ArrayList<>();
            for (int i = 0; i < rcpts.size(); i++) out.add(o);
            return out;
        }
    }

    /** Whether the header section has "TLS-Required: No" (RFC 8689 5); false when it cannot be read. */
    private static boolean tlsNotRequired(Content content) {
        try (InputStream in = content.open()) {
            java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.ISO_8859_1));
            for (String line; (line = r.readLine()) != null && !line.isEmpty(); ) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("TLS-Required")) {
                    return line.substring(colon + 1).trim().equalsIgnoreCase("No");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** True when a byte above 127 comes before the empty line that ends the header section (RFC 5322 2.1). */
    static boolean headerHasNonAscii(InputStream in) throws IOException {
        byte[] buf = new byte[8192];
        int lineLength = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            for (int i = 0; i < n; i++) {
                int b = buf[i] & 0xff;
                if (b >= 0x80) return true;
                if (b == '\n') {
                    if (lineLength == 0) return false; // the empty line: the body follows
                    lineLength = 0;
                } else if (b != '\r') {
                    lineLength++;
                }
            }
        }
        return false;
    }

    /** RFC 3461 4: xtext-encode '+', '=' and anything outside printable ASCII. */
    static String xtext(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c < 33 || c > 126 || c == '+' || c == '=') sb.append('+').append(String.format("%02X", c));
            else sb.append((char) c);
        }
        return sb.toString();
    }

    @Override public void close() {
        cache.closeAll(s -> quit(s.conn));
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
