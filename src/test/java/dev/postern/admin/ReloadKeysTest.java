package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a reload applies and what waits for a restart, key by declared key (Keys.LIVE_ON_RELOAD). */
class ReloadKeysTest {
    static JsonNode toml(String s) throws Exception { return new TomlMapper().readTree(s); }

    @Test void changedKeysAreSortedIntoAppliedAndRestart() throws Exception {
        JsonNode before = toml("""
                data_dir = "a"
                domains = ["example.test"]
                [listeners.mx]
                bind = "127.0.0.1:25"
                kind = "smtp"
                [limits]
                max_recipients = 5
                [delivery]
                relayhost = "[a.test]:25"
                tls = "may"
                [auth]
                dmarc = "enforce"
                [queue.classes.bulk]
                share = 10
                """);
        JsonNode after = toml("""
                data_dir = "b"
                domains = ["example.test", "example.org"]
                [listeners.mx]
                bind = "127.0.0.1:2525"
                kind = "smtp"
                [listeners.more]
                bind = "127.0.0.1:26"
                kind = "smtp"
                [limits]
                max_recipients = 2
                [delivery]
                relayhost = "[b.test]:25"
                tls = "verify"
                [auth]
                dmarc = "report"
                [queue.classes.bulk]
                share = 5
                [aliases]
                "x@example.test" = ["y@example.test"]
                """);
        assertThat(Reload.applied(before, after)).containsExactlyInAnyOrder("domains", "listeners", "aliases", "limits.max_recipients",
                "delivery.relayhost", "queue.classes", "auth.dmarc", "delivery.tls");
        assertThat(Reload.needRestart(before, after)).containsExactlyInAnyOrder("data_dir");
        assertThat(Reload.applied(before, before)).isEmpty();
        assertThat(Reload.needRestart(before, before)).isEmpty();
    }
}
