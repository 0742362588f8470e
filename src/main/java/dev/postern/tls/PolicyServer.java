package dev.postern.tls;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Serves our own MTA-STS policy (RFC 8461 3.3) at https://mta-sts.DOMAIN/.well-known/mta-sts.txt for each
 * local domain, with the listeners' certificate (which must then name mta-sts.DOMAIN too). Anything else
 * is 404; only GET and HEAD.
 */
public final class PolicyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.mta-sts");
    private final HttpsServer http;

    private PolicyServer(HttpsServer http) { this.http = http; }

    public static PolicyServer start(String host, int port, List<CertificateChooser.Pair> pairs, Set<String> domains, String policy) throws IOException {
        HttpsServer http = HttpsServer.create(new InetSocketAddress(host, port), 64);
        http.setHttpsConfigurator(new HttpsConfigurator(context(pairs)));
        byte[] body = policy.getBytes(StandardCharsets.US_ASCII);
        http.createContext("/", ex -> {
            String h = String.valueOf(ex.getRequestHeaders().getFirst("Host")).toLowerCase(Locale.ROOT).replaceAll(":\\d+$", "");
            boolean ours = h.startsWith("mta-sts.") && domains.contains(h.substring(8));
            String method = ex.getRequestMethod();
            if (!ours || !ex.getRequestURI().getPath().equals("/.well-known/mta-sts.txt") || !(method.equals("GET") || method.equals("HEAD"))) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            ex.getResponseHeaders().add("Content-Type", "text/plain"); // RFC 8461 3.3
            ex.sendResponseHeaders(200, method.equals("HEAD") ? -1 : body.length);
            if (method.equals("GET")) ex.getResponseBody().write(body);
            ex.close();
        });
        http.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "mta-sts-http");
            t.setDaemon(true);
            return t;
        }));
        http.start();
        log.info("serving the MTA-STS policy for {} on {}", domains, http.getAddress());
        return new PolicyServer(http);
    }

    public int port() { return http.getAddress().getPort(); }

    /** A server TLS context presenting these pairs, chosen by SNI and key type as the SMTP listeners do. */
    public static SSLContext context(List<CertificateChooser.Pair> pairs) throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new javax.net.ssl.KeyManager[] {new CertificateChooser(pairs)}, null, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** A certificate chain and private key from PEM files (the key PKCS#8, PKCS#1 or EC). */
    public static CertificateChooser.Pair readPair(Path certPem, Path keyPem) throws IOException {
        try (InputStream in = Files.newInputStream(certPem); Reader keyIn = Files.newBufferedReader(keyPem); PEMParser pem = new PEMParser(keyIn)) {
            Collection<? extends Certificate> chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (chain.isEmpty()) throw new IOException(certPem + ": no certificate found");
            Object o = pem.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            PrivateKey key = o instanceof PEMKeyPair kp ? conv.getKeyPair(kp).getPrivate()
                    : o instanceof PrivateKeyInfo pki ? conv.getPrivateKey(pki) : null;
            if (key == null) throw new IOException(keyPem + ": no private key found");
            return new CertificateChooser.Pair(chain.toArray(new java.security.cert.X509Certificate[0]), key);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load " + certPem + " / " + keyPem + ": " + e.getMessage(), e);
        }
    }

    @Override public void close() { http.stop(0); }
}
