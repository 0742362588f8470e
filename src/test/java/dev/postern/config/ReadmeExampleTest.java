package dev.postern.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's complete port-25 configuration stays valid: it is loaded as check-config would. */
class ReadmeExampleTest {

    @Test void port25ExampleLoads(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("### A complete port-25 server");
        assertThat(section).isPositive();
        int start = readme.indexOf("```toml\n", section) + 8;
        String toml = readme.substring(start, readme.indexOf("```", start));
        // the files it names are made here, under a temporary root
        toml = toml.replace("/etc/postern/", dir + "/etc/").replace("/var/lib/postern", dir + "/data").replace("/var/log/", dir + "/");
        Files.createDirectories(dir.resolve("etc"));
        for (String f : new String[]{"fullchain.pem", "privkey.pem", "sender_access", "recipient_access"}) Files.writeString(dir.resolve("etc/" + f), "");
        Path file = Files.writeString(dir.resolve("postern.toml"), toml);
        Config c = ConfigLoader.load(file, false);
        assertThat(c.policy().phases().get("rcpt")).contains("reject_unauth_destination", "reject_spf_fail", "greylist");
        assertThat(c.policy().phases().get("connect")).contains("reject_auth_failures");
        assertThat(c.policy().messagesPerMinute()).isEqualTo(60);
        assertThat(c.auth().dmarcQuarantine()).isEqualTo("hold");
        assertThat(c.auth().arcSeal()).isTrue();
        assertThat(c.auth().authservId()).isEqualTo("mx.example.test");
        assertThat(c.listeners()).hasSize(3);
    }

    @Test void bothDovecotPairingsLoad(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## With Dovecot");
        assertThat(section).isPositive();
        int first = readme.indexOf("```toml\n", section) + 8;
        String reads = readme.substring(first, readme.indexOf("```", first)).replace("/var/lib/postern", dir + "/data")
                .replace("vmail:vmail", "mail:mail");
        Config a = ConfigLoader.load(Files.writeString(dir.resolve("a.toml"), reads), false);
        assertThat(a.recipients().mailboxOwner()).isEqualTo("mail:mail");
        assertThat(a.recipients().delimiters()).isEqualTo("+");
        assertThat(a.recipients().subaddressFolders()).isTrue();
        int second = readme.indexOf("```toml\n", first) + 8;
        String mx = readme.substring(second, readme.indexOf("```", second)).replace("/var/lib/postern", dir + "/data");
        Config b = ConfigLoader.load(Files.writeString(dir.resolve("b.toml"), mx), false);
        assertThat(b.recipients().relayDomains()).containsExactly("example.test");
        assertThat(b.transports().get("example.test").socketPath()).isEqualTo("/run/dovecot/lmtp");
        assertThat(b.policy().phases().get("rcpt")).endsWith("reject_unverified_recipient");
    }

    @Test void authSectionErrorsNameKeyAndLine(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("postern.toml"), """
                domains = ["example.test"]
                [auth]
                dmarc = "strict"
                arc_seal = true
                verify = "yes"
                dkim_signing = true
                """);
        var e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.load(file, false));
        assertThat(e.problems()).anyMatch(p -> p.endsWith("postern.toml:3: auth.dmarc: expected one of \"enforce\", \"report\", got \"strict\""));
        assertThat(e.problems()).anyMatch(p -> p.contains("postern.toml:5: auth.verify: expected true or false"));
        assertThat(e.problems()).anyMatch(p -> p.contains("auth.arc_seal_domain: arc_seal = true needs the domain"));
        assertThat(e.problems()).anyMatch(p -> p.contains("postern.toml:6: auth.dkim_signing: unknown key"));
    }
}
