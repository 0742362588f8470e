package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimKeys;
import dev.postern.message.DkimSigner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code postern dns-records DOMAIN}: everything the domain should publish for this server, in zone-file form
 * (RFC 1035 5): MX, SPF, the DKIM keys found, DMARC, TLS-RPT and, with [mta_sts], the MTA-STS record.
 */
@Command(name = "dns-records", description = "Print the DNS records a local domain should publish (zone-file form)")
final class DnsRecordsCommand implements Callable<Integer> {
    @Option(names = "--config", description = "TOML configuration file") Path config;
    @Parameters(index = "0", description = "a local domain, e.g. example.test") String domain;

    @Override public Integer call() throws Exception {
        return Cli.withConfig(config, this::run);
    }

    private int run(Config c) throws Exception {
        String d = domain.toLowerCase(Locale.ROOT);
        if (!c.isLocalDomain(d)) {
            System.err.println("postern: " + d + " is not a local domain (domains = " + c.domains() + ")");
            return 2;
        }
        String host = c.hostname() + ".";
        String postmaster = "postmaster@" + d;
        StringBuilder out = new StringBuilder();
        out.append("; DNS records for ").append(d).append(", served by ").append(c.hostname()).append(" (Postern)\n");
        out.append("; the host name needs A/AAAA records and reverse DNS (PTR) naming it\n");
        out.append(d).append(". 3600 IN MX 10 ").append(host).append('\n');
        out.append("; SPF (RFC 7208): only the MX hosts send for the domain; add other senders before -all\n");
        out.append(d).append(". 3600 IN TXT \"v=spf1 mx -all\"\n");
        var keys = DkimKeyring.load(c.dkimKeyDir()).forDomain(d);
        if (keys.isEmpty()) out.append("; no DKIM key for ").append(d).append(" yet: postern dkim keygen ").append(d).append('\n');
        for (DkimSigner.Key k : keys) {
            out.append(k.selector()).append("._domainkey.").append(d).append(". 3600 IN TXT ")
                    .append(DkimCommand.Keygen.quoted(dkimRecord(k.privateKey()))).append('\n');
        }
        out.append("; DMARC (RFC 7489): start with p=none and watch the reports, then quarantine or reject\n");
        out.append("_dmarc.").append(d).append(". 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:").append(postmaster).append("\"\n");
        out.append("; TLS reporting (RFC 8460)\n");
        out.append("_smtp._tls.").append(d).append(". 3600 IN TXT \"v=TLSRPTv1; rua=mailto:").append(postmaster).append("\"\n");
        Config.MtaStsServe sts = c.tls().servePolicy();
        if (sts != null) {
            out.append("; MTA-STS (RFC 8461): mta-sts.").append(d).append(" must reach [mta_sts] bind on port 443, and the listeners'\n");
            out.append("; certificate must name it. The id changes with the policy (mode ").append(sts.mode()).append(", mx ")
                    .append(sts.mx()).append(", max_age ").append(sts.maxAge().toSeconds()).append(")\n");
            out.append("_mta-sts.").append(d).append(". 3600 IN TXT \"v=STSv1; id=").append(sts.policyId()).append("\"\n");
            out.append("mta-sts.").append(d).append(". 3600 IN CNAME ").append(host).append('\n');
        }
        System.out.print(out);
        return 0;
    }

    /** The DKIM record of a signing key's public half: RSA from the CRT key, Ed25519 from the seed (RFC 8463). */
    static String dkimRecord(PrivateKey key) throws Exception {
        if (key instanceof RSAPrivateCrtKey rsa) {
            return DkimKeys.record(KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent())));
        }
        byte[] pkcs8 = key.getEncoded();
        byte[] seed = java.util.Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length); // PKCS#8 ends with the 32-octet seed
        byte[] pub = new org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters(seed, 0).generatePublicKey().getEncoded();
        return "v=DKIM1; k=ed25519; p=" + Base64.getEncoder().encodeToString(pub);
    }
}
