package dev.postern.testing;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/** A certificate authority for tests: its certificate (for tls_ca_file) and server certificates it signs. */
public final class TestCa {
    public final Path dir;
    public final Path certFile;
    private final KeyPair key;
    private final X500Name name = new X500Name("CN=Postern Test CA");

    public TestCa(Path dir) throws Exception {
        this.dir = Files.createDirectories(dir);
        this.key = ecKey();
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minus(Duration.ofDays(1))),
                Date.from(now.plus(Duration.ofDays(365))), name, key.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        certFile = dir.resolve("ca.pem");
        Files.writeString(certFile, pem(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()))));
    }

    private static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** A server certificate for these DNS names, valid from..until; returns {cert.pem, key.pem}. */
    public Path[] issue(String file, Instant from, Instant until, String... names) throws Exception {
        return issue(file, ecKey(), from, until, names);
    }

    /** As {@link #issue(String, String...)} with an RSA 2048 key. */
    public Path[] issueRsa(String file, String... names) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        Instant now = Instant.now();
        return issue(file, g.generateKeyPair(), now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(365)), names);
    }

    private Path[] issue(String file, KeyPair kp, Instant from, Instant until, String... names) throws Exception {
        var b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()), Date.from(from), Date.from(until),
                new X500Name("CN=" + names[0]), kp.getPublic());
        GeneralName[] alt = new GeneralName[names.length];
        for (int i = 0; i < names.length; i++) {
            boolean ip = names[i].matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
            alt[i] = new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, names[i]);
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt));
        Path cert = dir.resolve(file + ".pem"), keyFile = dir.resolve(file + ".key");
        Files.writeString(cert, pem(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()))));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null));
        }
        Files.writeString(keyFile, w.toString());
        return new Path[] {cert, keyFile};
    }

    /** Valid from yesterday for a year. */
    public Path[] issue(String file, String... names) throws Exception {
        Instant now = Instant.now();
        return issue(file, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(365)), names);
    }

    private static String pem(X509CertificateHolder h) throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(h);
        }
        return w.toString();
    }
}
