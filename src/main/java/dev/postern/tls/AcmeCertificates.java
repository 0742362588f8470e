package dev.postern.tls;

import com.sun.net.httpserver.HttpServer;
import dev.postern.store.StateFiles;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The listeners' certificate from an ACME CA (RFC 8555), proven by HTTP-01 (RFC 8555 8.3): an account key
 * and the certificate with its key kept in {@code <data_dir>/acme/}; a new certificate is ordered when there
 * is none, when it no longer covers the configured domains, or when it expires within renewBefore; the
 * callback then hands the new pair to the listeners, which use it for new connections.
 */
public final class AcmeCertificates {
    private static final Logger log = LoggerFactory.getLogger("postern.acme");

    /**
     * Where the CA is and what to ask of it; directoryTls (null: the system's CAs) checks the directory's
     * HTTPS; the HTTP-01 responder listens on httpBind while an order is open.
     */
    public record Settings(URI directory, String email, List<String> domains, InetSocketAddress httpBind, SSLContext directoryTls,
                           Duration renewBefore) {}

    private final Settings settings;
    private final Path dir;
    private final Clock clock;
    private final BiConsumer<Path, Path> onNewCertificate;
    private final Map<String, String> challenges = new ConcurrentHashMap<>();

    public AcmeCertificates(Settings settings, Path dir, Clock clock, BiConsumer<Path, Path> onNewCertificate) {
        this.settings = settings;
        this.dir = dir;
        this.clock = clock;
        this.onNewCertificate = onNewCertificate;
    }

    public Path certFile() { return dir.resolve("cert.pem"); }

    public Path keyFile() { return dir.resolve("key.pem"); }

    /** The certificate held, when it matches its key and covers every configured domain; else null. */
    public X509Certificate current() {
        if (!Files.exists(certFile()) || !Files.exists(keyFile())) return null;
        try {
            CertificateChooser.Pair pair = PolicyServer.readPair(certFile(), keyFile());
            X509Certificate leaf = pair.chain()[0];
            if (!belongTogether(leaf, pair.key())) {
                log.warn("{} does not belong to {}: a new certificate will be ordered", certFile(), keyFile());
                return null;
            }
            for (String d : settings.domains()) {
                if (!CertificateNames.matchesAny(leaf, List.of(d))) return null; // the configured domains changed
            }
            return leaf;
        } catch (IOException e) {
            log.warn("cannot read the ACME certificate {}: {}", certFile(), e.getMessage());
            return null;
        }
    }

    /** Whether the key signs what the certificate's public key verifies. */
    private static boolean belongTogether(X509Certificate cert, java.security.PrivateKey key) {
        try {
            String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
            byte[] probe = "postern".getBytes(StandardCharsets.US_ASCII);
            java.security.Signature sign = java.security.Signature.getInstance(alg);
            sign.initSign(key);
            sign.update(probe);
            java.security.Signature verify = java.security.Signature.getInstance(alg);
            verify.initVerify(cert.getPublicKey());
            verify.update(probe);
            return verify.verify(sign.sign());
        } catch (java.security.GeneralSecurityException e) {
            return false;
        }
    }

    /** Whether a certificate must be ordered now: none, or one that expires within renewBefore. */
    public boolean renewalDue() {
        X509Certificate c = current();
        return c == null || !c.getNotAfter().toInstant().minus(settings.renewBefore()).isAfter(Instant.now(clock));
    }

    /** Orders a certificate when one is due; failures are logged and tried again at the next check. */
    public synchronized void check() {
        if (!renewalDue()) return;
        try {
            obtain();
            onNewCertificate.accept(certFile(), keyFile());
        } catch (Exception e) {
            log.warn("ACME: no certificate for {} from {}: {}", settings.domains(), settings.directory(), e.toString());
        }
    }

    /** One order: account, HTTP-01 for each pending authorization, finalize with a fresh key, download, store. */
    void obtain() throws IOException, AcmeException, InterruptedException {
        Files.createDirectories(dir);
        Session session = new Session(settings.directory(), new Provider(settings.directoryTls()));
        AccountBuilder ab = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey());
        if (settings.email() != null) ab.addEmail(settings.email());
        Account account = ab.create(session); // RFC 8555 7.3.1: the same key finds the same account
        Order order = account.newOrder().domains(settings.domains()).create();
        HttpServer responder = startResponder();
        try {
            for (Authorization auth : order.getAuthorizations()) {
                if (auth.getStatus() == Status.VALID) continue;
                Http01Challenge ch = auth.findChallenge(Http01Challenge.class)
                        .orElseThrow(() -> new AcmeException("the CA offers no http-01 challenge for " + auth.getIdentifier().getDomain()));
                challenges.put(ch.getToken(), ch.getAuthorization());
                ch.trigger();
                Status s = auth.waitForCompletion(Duration.ofMinutes(2));
                if (s != Status.VALID) {
                    throw new AcmeException("authorization of " + auth.getIdentifier().getDomain() + " is " + s
                            + ch.getError().map(p -> ": " + p).orElse(""));
                }
            }
            KeyPair domainKey = newKey();
            order.waitUntilReady(Duration.ofMinutes(2));
            order.execute(domainKey);
            Status s = order.waitForCompletion(Duration.ofMinutes(2));
            if (s != Status.VALID) throw new AcmeException("order is " + s + order.getError().map(p -> ": " + p).orElse(""));
            StringWriter chain = new StringWriter();
            order.getCertificate().writeCertificate(chain);
            // the key first: a crash between the two renames leaves a pair that does not match, which current() refuses
            writePrivate(keyFile(), pem(new JcaPKCS8Generator(domainKey.getPrivate(), null)));
            StateFiles.replace(dir.resolve("cert.pem.tmp"), chain.toString().getBytes(StandardCharsets.US_ASCII), certFile());
            X509Certificate leaf = order.getCertificate().getCertificate();
            log.info("ACME: new certificate for {} from {}, valid until {}", settings.domains(), settings.directory(), leaf.getNotAfter().toInstant());
        } finally {
            responder.stop(0);
            challenges.clear();
        }
    }

    /** RFC 8555 8.3: GET /.well-known/acme-challenge/TOKEN answers the key authorization, on port 80 of each domain. */
    private HttpServer startResponder() throws IOException {
        HttpServer http = HttpServer.create(settings.httpBind(), 16);
        http.createContext("/.well-known/acme-challenge/", ex -> {
            String token = ex.getRequestURI().getPath().substring("/.well-known/acme-challenge/".length());
            String answer = challenges.get(token);
            if (answer == null || !ex.getRequestMethod().equals("GET")) {
                ex.sendResponseHeaders(404, -1);
            } else {
                byte[] body = answer.getBytes(StandardCharsets.US_ASCII);
                ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        http.start();
        return http;
    }

    private KeyPair accountKey() throws IOException {
        Path file = dir.resolve("account.key");
        if (Files.exists(file)) {
            // two PEM blocks: the private key (PKCS#8), then its public key
            try (var parser = new org.bouncycastle.openssl.PEMParser(Files.newBufferedReader(file))) {
                var converter = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter();
                if (parser.readObject() instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo priv
                        && parser.readObject() instanceof org.bouncycastle.asn1.x509.SubjectPublicKeyInfo pub) {
                    return new KeyPair(converter.getPublicKey(pub), converter.getPrivateKey(priv));
                }
            }
            throw new IOException(file + " holds no key pair; move it away to register a new ACME account");
        }
        KeyPair kp = newKey();
        writePrivate(file, pem(new JcaPKCS8Generator(kp.getPrivate(), null)) + pem(kp.getPublic()));
        return kp;
    }

    private static KeyPair newKey() throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot make a key: " + e.getMessage(), e);
        }
    }

    /** Private keys: mode 0600 from the first byte, replaced whole. */
    private static void writePrivate(Path file, String text) throws IOException {
        StateFiles.replacePrivate(file, text.getBytes(StandardCharsets.US_ASCII));
    }

    private static String pem(Object o) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
        }
        return sw.toString();
    }

    /** acme4j's generic provider, with the directory's HTTPS checked against the given CAs. */
    private static final class Provider extends GenericAcmeProvider {
        private final SSLContext tls;

        Provider(SSLContext tls) { this.tls = tls; }

        @Override protected HttpConnector createHttpConnector(NetworkSettings ns) {
            return new HttpConnector(ns) {
                @Override public HttpClient.Builder createClientBuilder() {
                    HttpClient.Builder b = super.createClientBuilder();
                    return tls == null ? b : b.sslContext(tls);
                }
            };
        }
    }
}
