package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.mail.Domains;
import dev.postern.message.DkimKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code postern dkim keygen}: makes a signing key where the server looks for it and prints the DNS record. */
@Command(name = "dkim", description = "DKIM signing keys", subcommands = {DkimCommand.Keygen.class})
final class DkimCommand {

    @Command(name = "keygen", description = "Create a signing key for a local domain and print its DNS TXT record")
    static final class Keygen implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;
        @Parameters(index = "0", description = "the signing domain, e.g. example.test") String domain;
        @Option(names = "--selector", defaultValue = "s1", description = "selector (default: ${DEFAULT-VALUE})") String selector;
        @Option(names = "--algo", defaultValue = "ed25519", description = "ed25519 or rsa (default: ${DEFAULT-VALUE})") String algo;
        @Option(names = "--bits", defaultValue = "2048", description = "RSA key size (default: ${DEFAULT-VALUE})") int bits;
        @Option(names = "--force", description = "replace an existing key") boolean force;

        @Override public Integer call() throws Exception {
            return Cli.withConfig(config, this::run);
        }

        private int run(Config c) throws Exception {
            String d = domain.toLowerCase(Locale.ROOT);
            if (!Domains.isValid(d, false)) return fail("not a domain name: " + domain);
            if (!c.isLocalDomain(d)) System.err.println("warning: " + d + " is not a local domain; mail is signed only for local domains");
            if (!selector.matches("[A-Za-z0-9][A-Za-z0-9-]*")) return fail("a selector is letters, digits and '-'");
            if (!algo.equals("ed25519") && !algo.equals("rsa")) return fail("--algo must be ed25519 or rsa");
            // RFC 8301 3.2: signers MUST use RSA keys of at least 1024 bits, SHOULD use 2048
            if (algo.equals("rsa") && (bits < 1024 || bits > 4096)) return fail("--bits must be 1024 to 4096");
            Path dir = Files.createDirectories(c.dkimKeyDir());
            Path file = dir.resolve(d + "." + selector + ".key");
            if (Files.exists(file) && !force) return fail(file + " exists (use --force to replace it)");
            KeyPairGenerator g = KeyPairGenerator.getInstance(algo.equals("rsa") ? "RSA" : "Ed25519");
            if (algo.equals("rsa")) g.initialize(bits);
            KeyPair kp = g.generateKeyPair();
            AdminEndpoint.writePrivate(file, DkimKeys.pem(kp.getPrivate()));
            System.err.println("wrote " + file + " (a running server reads it on SIGHUP or POST /policy/reload)");
            System.out.println(selector + "._domainkey." + d + ". IN TXT " + quoted(DkimKeys.record(kp.getPublic())));
            return 0;
        }

        private static int fail(String why) {
            System.err.println("postern dkim keygen: " + why);
            return 2;
        }

        /** DNS character-strings hold 255 octets; longer records are split into several. */
        static String quoted(String record) {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < record.length(); i += 255) parts.add("\"" + record.substring(i, Math.min(record.length(), i + 255)) + "\"");
            return parts.size() == 1 ? parts.get(0) : "( " + String.join(" ", parts) + " )";
        }
    }
}
