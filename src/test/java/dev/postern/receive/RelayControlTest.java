package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** No open relay: every classic trick is refused or stays a (non-existent) local name. */
class RelayControlTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    @ParameterizedTest
    @ValueSource(strings = {
            "<victim@remote.test>",                 // plain remote domain
            "<@example.test:victim@remote.test>",   // source route through us (RFC 5321 C)
            "<@example.test,@other.test:victim@remote.test>",
            "<victim@remote.test@example.test>",
    })
    void remoteDestinationsAreRefused(String rcpt) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<spammer@remote.test>", "250");
            String r = c.command("RCPT TO:" + rcpt, "5");
            org.assertj.core.api.Assertions.assertThat(r).matches("(?s).*(554 5\\.7\\.1|501 5\\.1\\.3).*");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "<victim%remote.test@example.test>",     // percent hack
            "<remote.test!victim@example.test>",     // bang path
            "<\"victim@remote.test\"@example.test>", // quoted local part with @
    })
    void oldRelayTricksStayLocalNames(String rcpt) throws Exception {
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<spammer@remote.test>", "250");
            c.command("RCPT TO:" + rcpt, "550 5.1.1"); // a local name that does not exist, never relayed
        }
    }

    @Test void relayNetworksAndAuthenticatedClientsMayRelay() throws Exception {
        try (TestServer trusted = TestServer.builder().relayNetworks("127.0.0.0/8").start();
             SmtpClient c = SmtpClient.ehlo(trusted.smtp())) {
            c.command("MAIL FROM:<alice@example.test>", "250");
            c.command("RCPT TO:<friend@remote.test>", "250 2.1.5");
        }
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.startTls();
            c.command("EHLO client.example", "250");
            c.authPlain("alice@example.test", TestServer.PASSWORD, "235 2.7.0");
            c.command("MAIL FROM:<alice@example.test>", "250");
            c.command("RCPT TO:<friend@remote.test>", "250 2.1.5");
        }
    }

    @org.junit.jupiter.api.Test void relayDomainsAreAcceptedFromAnyoneAndTheirListedRecipientsOnly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path list = java.nio.file.Files.writeString(dir.resolve("relay_recipients"), "# the store's users\nalice@lmtp.test\n@open.test\n");
        dev.postern.config.Config.Recipients d = dev.postern.config.Config.Recipients.DEFAULT;
        var r = new dev.postern.config.Config.Recipients(java.util.Set.of("lmtp.test", "open.test"), list, "+", d.verifyPositive(),
                d.verifyNegative(), d.probeTimeout(), d.probeConcurrency(), false, "defer", null);
        try (TestServer s = TestServer.builder().recipients(r).start();
             SmtpClient c = SmtpClient.ehlo(s.smtp())) {
            c.command("MAIL FROM:<someone@remote.test>", "250");
            c.command("RCPT TO:<alice@lmtp.test>", "250");
            c.command("RCPT TO:<alice+tag@lmtp.test>", "250");
            org.assertj.core.api.Assertions.assertThat(c.command("RCPT TO:<mallory@lmtp.test>", "550")).startsWith("550 5.1.1");
            c.command("RCPT TO:<anyone@open.test>", "250");
            c.command("RCPT TO:<victim@remote.test>", "554");
        }
    }
}
