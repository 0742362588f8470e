package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RFC 2920: a whole group sent at once is answered in order, one reply per command. */
class PipeliningTest {
    static TestServer server;

    @BeforeAll static void start() throws Exception { server = TestServer.builder().start(); }

    @AfterAll static void stop() throws Exception { server.close(); }

    @Test void repliesComeInCommandOrder() throws Exception {
        try (SmtpClient c = SmtpClient.connect(server.smtp())) {
            c.expect("220");
            c.raw("EHLO client.example\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
                    + "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
            c.expect("250 HELP");
            c.expect("250 2.1.0");
            c.expect("250 2.1.5");
            c.expect("550 5.1.1");
            c.expect("250 2.1.5");
            c.expect("354");
            // the message and the next transaction in one write
            c.raw("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<y@remote.test>\r\nRCPT TO:<bob@example.test>\r\nRSET\r\nQUIT\r\n");
            c.expect("250 2.0.0 Ok: queued as");
            c.expect("250 2.1.0");
            c.expect("250 2.1.5");
            c.expect("250 2.0.0");
            c.expect("221 2.0.0");
        }
        server.awaitMail("alice@example.test", 1);
        server.awaitMail("bob@example.test", 1);
    }
}
