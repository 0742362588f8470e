package dev.postern.tls;

import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Judges a peer's certificate chain after the handshake: trusted (PKIX, against the system's trust store
 * or [delivery] tls_ca_file) and naming what the level asks for. Failures are named with the result
 * types of RFC 8460 4.3, so that TLS reports can count them.
 */
public final class PeerVerifier {
    /** Why a peer did not pass: the RFC 8460 result type and words for the log. */
    public record Failure(String resultType, String detail) {}

    private final X509TrustManager trust;

    private PeerVerifier(X509TrustManager trust) { this.trust = trust; }

    /** A client TLS context that trusts the same CAs (for HTTPS fetches such as MTA-STS policies). */
    public javax.net.ssl.SSLContext clientContext() throws IOException {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, new javax.net.ssl.TrustManager[] {trust}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up client TLS: " + e.getMessage(), e);
        }
    }

    /** caFile null: the JVM's trust store (the system's CAs). */
    public static PeerVerifier load(Path caFile) throws IOException {
        try {
            KeyStore ks = null;
            if (caFile != null) {
                ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                try (InputStream in = Files.newInputStream(caFile)) {
                    int i = 0;
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) ks.setCertificateEntry("ca" + i++, c);
                    if (i == 0) throw new IOException(caFile + " holds no certificate");
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (var tm : tmf.getTrustManagers()) if (tm instanceof X509TrustManager x) return new PeerVerifier(x);
            throw new IOException("no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load the trusted CAs" + (caFile == null ? "" : " from " + caFile) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Null when the chain is trusted and its leaf names one of the references (a leading "." means any
     * subdomain), else why not.
     */
    public Failure check(Certificate[] presented, List<String> references) {
        if (presented == null || presented.length == 0 || !(presented[0] instanceof X509Certificate)) {
            return new Failure("validation-failure", "no certificate presented");
        }
        X509Certificate[] chain = new X509Certificate[presented.length];
        for (int i = 0; i < presented.length; i++) chain[i] = (X509Certificate) presented[i];
        try {
            trust.checkServerTrusted(chain, "UNKNOWN");
        } catch (java.security.cert.CertificateException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                    return new Failure("certificate-expired", "certificate not valid now: " + t.getMessage());
                }
            }
            return new Failure("validation-failure", "untrusted certificate: " + e.getMessage());
        }
        if (!CertificateNames.matchesAny(chain[0], references)) {
            return new Failure("certificate-host-mismatch", "certificate names " + CertificateNames.of(chain[0]) + ", expected " + references);
        }
        return null;
    }
}
