package dev.postern.tls;

import org.xbill.DNS.TLSARecord;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Whether a presented chain satisfies a host's TLSA records (RFC 6698 2.1, as RFC 7672 3.1 narrows it for
 * SMTP): DANE-EE(3) matches the server's own certificate or key, with no name or expiry check (RFC 7672
 * 3.1.1); DANE-TA(2) matches a certificate of the chain, from which the chain below must validate and whose
 * leaf must name the host (RFC 7672 3.1.2, 3.2.2). PKIX usages (0, 1) are unusable for SMTP (RFC 7672 3.1.3).
 */
public final class TlsaMatcher {
    static final int DANE_TA = 2, DANE_EE = 3;

    private TlsaMatcher() {}

    /** Whether a record can be used at all: a DANE usage, a known selector and matching type, data of the right length. */
    public static boolean usable(TLSARecord r) {
        if (r.getCertificateUsage() != DANE_TA && r.getCertificateUsage() != DANE_EE) return false;
        if (r.getSelector() != 0 && r.getSelector() != 1) return false;
        int len = r.getCertificateAssociationData().length;
        return switch (r.getMatchingType()) {
            case 0 -> len > 0;
            case 1 -> len == 32;
            case 2 -> len == 64;
            default -> false;
        };
    }

    /** Null when the chain matches one of the (usable) records, else why not, named as RFC 8460 4.3 does. */
    public static PeerVerifier.Failure check(List<TLSARecord> records, java.security.cert.Certificate[] presented, List<String> names) {
        if (presented == null || presented.length == 0) return new PeerVerifier.Failure("validation-failure", "no certificate presented");
        X509Certificate[] chain = Arrays.stream(presented).map(c -> (X509Certificate) c).toArray(X509Certificate[]::new);
        PeerVerifier.Failure taFailure = null;
        for (TLSARecord r : records) {
            if (!usable(r)) continue;
            if (r.getCertificateUsage() == DANE_EE && matches(r, chain[0])) return null;
            if (r.getCertificateUsage() != DANE_TA) continue;
            for (int i = 1; i < chain.length; i++) {
                if (!matches(r, chain[i])) continue;
                PeerVerifier.Failure f = validateBelow(chain, i, names);
                if (f == null) return null;
                taFailure = f;
            }
        }
        return taFailure != null ? taFailure
                : new PeerVerifier.Failure("validation-failure", "no TLSA record matches the certificate chain presented");
    }

    private static boolean matches(TLSARecord r, X509Certificate cert) {
        try {
            byte[] data = r.getSelector() == 0 ? cert.getEncoded() : cert.getPublicKey().getEncoded();
            byte[] want = r.getCertificateAssociationData();
            return switch (r.getMatchingType()) {
                case 0 -> MessageDigest.isEqual(data, want);
                case 1 -> MessageDigest.isEqual(MessageDigest.getInstance("SHA-256").digest(data), want);
                case 2 -> MessageDigest.isEqual(MessageDigest.getInstance("SHA-512").digest(data), want);
                default -> false;
            };
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The certificates below the matched trust anchor form a valid path from it, and the leaf names the host. */
    private static PeerVerifier.Failure validateBelow(X509Certificate[] chain, int anchor, List<String> names) {
        try {
            var path = CertificateFactory.getInstance("X.509").generateCertPath(Arrays.asList(chain).subList(0, anchor));
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(chain[anchor], null)));
            params.setRevocationEnabled(false); // RFC 7672 3.1.2: no revocation checks are asked for
            CertPathValidator.getInstance("PKIX").validate(path, params);
        } catch (CertPathValidatorException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                    return new PeerVerifier.Failure("certificate-expired", "certificate not valid now: " + t.getMessage());
                }
            }
            return new PeerVerifier.Failure("validation-failure", "chain does not validate from the DANE-TA certificate: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            return new PeerVerifier.Failure("validation-failure", "cannot validate the chain: " + e.getMessage());
        }
        if (!CertificateNames.matchesAny(chain[0], names)) {
            return new PeerVerifier.Failure("certificate-host-mismatch", "certificate names " + CertificateNames.of(chain[0]) + ", expected " + names);
        }
        return null;
    }
}
