package dev.postern.e2e;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Real peers on the receiving side: a second Postern, and Postfix's smtp-sink. */
class RelayEndToEndTest {

    @Test void submissionToMxRoutedSecondPostern() throws Exception {
        try (TestServer b = TestServer.builder().hostname("mx.other.test").domains("other.test").listenOn("127.0.0.2")
                .user("bob@other.test").start();
             TestDnsServer dns = new TestDnsServer().zone("other.test. IN MX 10 mx.other.test.", "mx.other.test. IN A 127.0.0.2")) {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(dns.address()), b.smtp(), "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            try (TestServer a = TestServer.builder().delivery(d).start();
                 SmtpClient c = SmtpClient.ehlo(a.submission())) {
                c.startTls();
                c.command("EHLO client.example", "250");
                c.authPlain("alice@example.test", TestServer.PASSWORD, "235 2.7.0");
                assertThat(c.sendMail("alice@example.test", "bob@other.test", "Subject: across\r\n\r\nhello bob")).startsWith("250 2.0.0");
                List<Path> got = b.awaitMail("bob@other.test", 1);
                assertThat(got).hasSize(1);
                String msg = Files.readString(got.get(0));
                assertThat(msg).startsWith("Return-Path: <alice@example.test>\n");
                int hopB = msg.indexOf("by mx.other.test (Postern) with ESMTPS");
                int hopA = msg.indexOf("by mx.example.test (Postern) with ESMTPSA");
                assertThat(hopB).as(msg).isPositive();
                assertThat(hopA).as("A's Received header comes below B's").isGreaterThan(hopB);
                assertThat(msg).contains("from mx.example.test (").contains("[127.0.0.1])").endsWith("\nhello bob\n");
                a.awaitQueueIdle();
                assertThat(a.server.queue().list()).isEmpty();
            }
        }
    }

    @Test void relaysIntoPostfixSmtpSink(@TempDir Path tmp) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dump = Files.createDirectories(tmp.resolve("sink"));
        // smtp-sink runs as nobody: it must reach and write the dump directory
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(dump, PosixFilePermissions.fromString("rwxrwxrwx"));
        Process sink = new ProcessBuilder("smtp-sink", "-u", "nobody", "-d", dump + "/%M.", "127.0.0.3:" + port, "100")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("sink.log").toFile()).start();
        try {
            Config.Delivery d = new Config.Delivery(null, null, null, List.of(), port, "mx.example.test", null,
                    Config.TlsMode.MAY, 20, 100);
            try (TestServer a = TestServer.builder().relayNetworks("127.0.0.1/32").delivery(d)
                    .transport("sink.test", "[127.0.0.3]:" + port).start()) {
                OutboundLoad.awaitListening("127.0.0.3", port);
                for (int i = 0; i < 20; i++) {
                    try (SmtpClient c = SmtpClient.ehlo(a.smtp())) {
                        c.sendMail("alice@example.test", "user" + i + "@sink.test", "Subject: sink " + i + "\r\n\r\n..leading dot\r\nbody " + i);
                    }
                }
                // smtp-sink writes each file as the message arrives: wait until every message is there whole
                long deadline = System.currentTimeMillis() + 20_000;
                List<Path> files = List.of();
                String all = "";
                while (System.currentTimeMillis() < deadline) {
                    try (Stream<Path> s = Files.list(dump)) {
                        files = s.toList();
                    }
                    StringBuilder sb = new StringBuilder();
                    for (Path f : files) sb.append(Files.readString(f));
                    all = sb.toString();
                    String snapshot = all;
                    if (java.util.stream.IntStream.range(0, 20).allMatch(i -> snapshot.contains("body " + i + "\n"))) break;
                    Thread.sleep(50);
                }
                assertThat(files).hasSize(20);
                for (int i = 0; i < 20; i++) assertThat(all).contains("X-Rcpt-Args: <user" + i + "@sink.test>").contains("Subject: sink " + i + "\n");
                assertThat(all).contains("\n.leading dot\n").contains("X-Mail-Args: <alice@example.test>");
                a.awaitQueueIdle();
                assertThat(a.server.queue().list()).isEmpty();
            }
        } finally {
            sink.destroy();
            sink.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
