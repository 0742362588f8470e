package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.tls.CertificateChooser;
import dev.postern.tls.PolicyServer;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/** Builds the server TLS context from configured PEM files, or from a self-signed pair made on first start. */
public final class TlsSetup {
    private static final Logger log = LoggerFactory.getLogger(TlsSetup.class);

    static {
        // a client may not start a TLS 1.2 renegotiation: each costs the server a full handshake (testssl.sh's
        // finding), and SMTP needs none. JSSE reads this once, when its first server handshake is made.
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    }

    /**
     * AEAD suites only (RFC 9325 4.2): the TLS 1.3 ones, and for TLS 1.2 ECDHE (forward secret) with AES-GCM or
     * ChaCha20-Poly1305; no CBC, no static RSA key exchange.
     */
    static final java.util.List<String> CIPHERS = java.util.List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private TlsSetup() {}

    public static SslContext serverContext(Config config) throws IOException {
        Path[] files = certificateFiles(config);
        Path cert = files[0], key = files[1];
        if (!config.tls().more().isEmpty()) {
            try { // several pairs: the one naming the client's SNI host, of a key type the handshake can use
                return SslContextBuilder.forServer(new CertificateChooser(pairs(config))).sslProvider(SslProvider.JDK)
                        .protocols("TLSv1.3", "TLSv1.2").ciphers(CIPHERS).build();
            } catch (javax.net.ssl.SSLException e) {
                throw new IOException("cannot set up TLS: " + e.getMessage(), e);
            }
        }
        return context(cert, key);
    }

    /** A server context for one certificate (chain) and key in PEM files. */
    public static SslContext context(Path cert, Path key) throws IOException {
        try {
            // RFC 8996: no TLS below 1.2
            return SslContextBuilder.forServer(cert.toFile(), key.toFile()).sslProvider(SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2").ciphers(CIPHERS).build();
        } catch (Exception e) {
            throw new IOException("cannot load TLS certificate " + cert + " / key " + key + ": " + e.getMessage(), e);
        }
    }

    /** Every configured certificate pair, the default first (the self-signed one when none is configured). */
    public static List<CertificateChooser.Pair> pairs(Config config) throws IOException {
        Path[] files = certificateFiles(config);
        List<CertificateChooser.Pair> out = new java.util.ArrayList<>();
        out.add(PolicyServer.readPair(files[0], files[1]));
        for (Config.CertPair p : config.tls().more()) out.add(PolicyServer.readPair(p.cert(), p.key()));
        return out;
    }

    /** The listeners' certificate and key files: configured, or the self-signed pair (made on first use). */
    public static Path[] certificateFiles(Config config) throws IOException {
        if (!config.tls().selfSigned()) return new Path[] {config.tls().cert(), config.tls().key()};
        if (config.tls().acme() != null) {
            // the certificate ACME obtained, once there is one; until then the self-signed pair below
            Path cert = config.acmeDir().resolve("cert.pem"), key = config.acmeDir().resolve("key.pem");
            if (Files.exists(cert) && Files.exists(key)) return new Path[] {cert, key};
        }
        Path dir = config.dataDir().resolve("tls");
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem");
        if (!Files.exists(cert) || !Files.exists(key)) {
            generateSelfSigned(config.hostname(), cert, key);
            log.info("generated a self-signed certificate for {} in {}", config.hostname(), dir);
        }
        return new Path[] {cert, key};
    }

    static void generateSelfSigned(String hostname, Path certFile, Path keyFile) throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = g.generateKeyPair();
            X500Name name = new X500Name("CN=" + hostname);
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))), name, kp.getPublic());
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, hostname)));
            var holder = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
            Files.createDirectories(certFile.getParent());
            Files.writeString(certFile, pem(holder), StandardCharsets.US_ASCII);
            Path tmp = keyFile.resolveSibling(keyFile.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            // PKCS#8, which every TLS stack reads
            Files.writeString(tmp, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(kp.getPrivate(), null)),
                    StandardCharsets.US_ASCII);
            Files.move(tmp, keyFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot generate a self-signed certificate: " + e.getMessage(), e);
        }
    }

    private static String pem(Object o) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
        }
        return sw.toString();
    }
}
