package dev.postern.testing;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.List;
import java.util.function.Function;

/**
 * A receiving SMTP server with scripted behaviour, bound on a loopback address such as 127.0.0.2:
 * which EHLO keywords it offers, what it answers to each RCPT and to the end of data, whether it drops
 * the connection in the middle of DATA, whether it requires AUTH. It records every command line, every
 * message's raw bytes (still dot-stuffed, as on the wire) and whether TLS was in use.
 */
public final class ScriptedPeer implements AutoCloseable {

    /** One complete transaction as received. */
    public record Received(String mailFrom, List<String> rcptTo, byte[] data, boolean tls, String authUser) {
        public String text() { return new String(data, StandardCharsets.UTF_8); }
    }

    public boolean offerStartTls = false;
    public boolean offerDsn = true;
    public boolean offerPipelining = true;
    public boolean offer8bit = true;
    public boolean offerSmtpUtf8 = true;
    public long sizeLimit = 0;
    public String requireAuth = null;          // "user:password" to demand AUTH PLAIN/LOGIN
    public String greeting = "220 peer.test ESMTP scripted";
    public Function<String, String> rcptReply = rcpt -> "250 2.1.5 ok";
    public String dataReply = "250 2.0.0 queued";
    public int dropAfterDataBytes = -1;        // close the socket after this many DATA bytes
    public volatile boolean silentAfterData;   // take the whole message, then never answer
    public volatile boolean hangUpAfterData;   // take the whole message, then close without a reply
    public volatile boolean hangUpOnData;      // answer MAIL and RCPT, then close instead of answering DATA
    public boolean refuseEhlo = false;         // answer EHLO with 502, as a pre-ESMTP server would
    public boolean breakTls = false;           // accept STARTTLS, then hang up instead of a handshake
    public boolean lmtp = false;               // RFC 2033: one reply per accepted recipient after DATA
    public boolean offerRequireTls = false;    // RFC 8689: REQUIRETLS after STARTTLS
    public volatile SSLContext certificate;    // the TLS identity to present; null = a self-signed one for peer.test
    public Function<String, String> lmtpDataReply = rcpt -> "250 2.0.0 delivered";

    public final List<String> commands = Collections.synchronizedList(new ArrayList<>());
    public final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    public volatile int connections;

    private final ServerSocket server;
    private final SSLContext tls;
    private final Thread acceptor;

    public ScriptedPeer(String address) throws Exception {
        this(address, 0);
    }

    public ScriptedPeer(String address, int port) throws Exception {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        tls = selfSignedContext();
        acceptor = new Thread(this::acceptLoop, "peer-" + address);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() { return server.getLocalPort(); }

    public String address() { return server.getInetAddress().getHostAddress(); }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections++;
                Thread t = new Thread(() -> session(s), "peer-session");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void session(Socket socket) {
        try (Socket s0 = socket) {
            Socket s = s0;
            s.setSoTimeout(30_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            send(out, greeting);
            if (!greeting.startsWith("220")) return;
            String from = null;
            List<String> rcpts = new ArrayList<>();
            boolean isTls = false;
            String authUser = null;
            while (true) {
                String line = readLine(in);
                if (line == null) return;
                commands.add(line);
                String upper = line.toUpperCase();
                if (upper.startsWith("EHLO") && refuseEhlo) {
                    send(out, "502 5.5.1 EHLO not implemented");
                } else if (upper.startsWith("EHLO") || upper.startsWith("LHLO")) {
                    List<String> kw = new ArrayList<>(List.of("250-peer.test"));
                    if (offerPipelining) kw.add("250-PIPELINING");
                    if (sizeLimit > 0) kw.add("250-SIZE " + sizeLimit);
                    if (offer8bit) kw.add("250-8BITMIME");
                    if (offerSmtpUtf8) kw.add("250-SMTPUTF8");
                    if (offerDsn) kw.add("250-DSN");
                    if (offerStartTls && !isTls) kw.add("250-STARTTLS");
                    if (offerRequireTls && isTls) kw.add("250-REQUIRETLS");
                    if (requireAuth != null) kw.add("250-AUTH PLAIN LOGIN");
                    kw.add("250 ENHANCEDSTATUSCODES");
                    send(out, String.join("\r\n", kw));
                } else if (upper.startsWith("HELO")) {
                    send(out, "250 peer.test");
                } else if (upper.equals("STARTTLS") && offerStartTls && !isTls) {
                    send(out, "220 2.0.0 go ahead");
                    if (breakTls) {
                        in.read(new byte[512]); // the ClientHello
                        out.write(new byte[] {21, 3, 3, 0, 2, 2, 40}); // a TLS alert: handshake_failure
                        out.flush();
                        return;
                    }
                    SSLSocket ssl = (SSLSocket) (certificate != null ? certificate : tls).getSocketFactory().createSocket(s, null, s.getPort(), false);
                    ssl.setUseClientMode(false);
                    ssl.startHandshake();
                    s = ssl;
                    in = ssl.getInputStream();
                    out = ssl.getOutputStream();
                    isTls = true;
                } else if (upper.startsWith("AUTH PLAIN ")) {
                    String[] p = new String(Base64.getDecoder().decode(line.substring(11).trim()), StandardCharsets.UTF_8).split("\0");
                    boolean ok = requireAuth != null && p.length == 3 && requireAuth.equals(p[1] + ":" + p[2]);
                    if (ok) authUser = p[1];
                    send(out, ok ? "235 2.7.0 ok" : "535 5.7.8 bad");
                } else if (upper.startsWith("MAIL FROM:")) {
                    if (requireAuth != null && authUser == null) {
                        send(out, "530 5.7.0 Authentication required");
                        continue;
                    }
                    from = line.substring(10);
                    rcpts.clear();
                    send(out, "250 2.1.0 ok");
                } else if (upper.startsWith("RCPT TO:")) {
                    String r = line.substring(8);
                    String reply = rcptReply.apply(r.substring(1, r.indexOf('>')));
                    if (reply.startsWith("2")) rcpts.add(r);
                    send(out, reply);
                } else if (upper.equals("DATA")) {
                    if (hangUpOnData) return;
                    if (from == null || rcpts.isEmpty()) {
                        send(out, "554 5.5.1 no valid recipients");
                        continue;
                    }
                    send(out, "354 go ahead");
                    byte[] data = readData(in);
                    if (data == null) return; // dropped
                    received.add(new Received(from, List.copyOf(rcpts), data, isTls, authUser));
                    if (hangUpAfterData) return;
                    if (silentAfterData) {
                        while (in.read() >= 0) { /* until the client gives up */ }
                        return;
                    }
                    if (lmtp) {
                        for (String r : rcpts) send(out, lmtpDataReply.apply(r.substring(1, r.indexOf('>'))));
                    } else {
                        send(out, dataReply);
                    }
                    from = null;
                } else if (upper.equals("RSET")) {
                    from = null;
                    send(out, "250 2.0.0 ok");
                } else if (upper.equals("QUIT")) {
                    send(out, "221 2.0.0 bye");
                    return;
                } else if (upper.equals("NOOP")) {
                    send(out, "250 2.0.0 ok");
                } else {
                    send(out, "502 5.5.1 unknown");
                }
            }
        } catch (Exception e) {
            // the client went away
        }
    }

    /** Reads up to CRLF.CRLF; returns the raw bytes before it, or null after a scripted drop. */
    private byte[] readData(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        long last5 = 0; // the last five bytes, newest lowest
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            last5 = ((last5 << 8) | c) & 0xFFFFFFFFFFL;
            if (dropAfterDataBytes >= 0 && b.size() >= dropAfterDataBytes) return null;
            boolean end = b.size() == 3 ? (last5 & 0xFFFFFF) == 0x2E0D0AL : last5 == 0x0D0A2E0D0AL;
            if (end) return java.util.Arrays.copyOf(b.toByteArray(), b.size() - 3);
        }
        throw new IOException("eof in data");
    }

    /** One line without its CRLF (or LF); null at end of input, a partial last line included. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
    }

    private static void send(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static SSLContext selfSignedContext() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        KeyPair kp = g.generateKeyPair();
        X500Name name = new X500Name("CN=peer.test");
        var holder = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, new Date(System.currentTimeMillis() - 86_400_000L),
                new Date(System.currentTimeMillis() + 86_400_000L), name, kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("peer", kp.getPrivate(), "x".toCharArray(), new X509Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "x".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    /** A TLS identity from PEM files (as TestCa issues them). */
    public static SSLContext contextFor(java.nio.file.Path certPem, java.nio.file.Path keyPem) throws Exception {
        X509Certificate cert;
        try (var in = java.nio.file.Files.newInputStream(certPem)) {
            cert = (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        String b64 = java.nio.file.Files.readString(keyPem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        var key = java.security.KeyFactory.getInstance("EC").generatePrivate(
                new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(b64)));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("peer", key, "x".toCharArray(), new X509Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "x".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    @Override public void close() throws IOException {
        server.close();
    }
}
