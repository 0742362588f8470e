package dev.postern.filter;

import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestDnsServer;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Debian's OpenDKIM as a signing milter in front of Postern: its DKIM-Signature on a submitted message,
 * as stored, verifies with dkimpy (an implementation of neither) against the key published on loopback DNS.
 */
class OpenDkimMilterTest {

    @Test void openDkimsSignatureOnAStoredMessageVerifiesWithDkimpy(@TempDir Path dir) throws Exception {
        // OpenDKIM refuses a configuration or key under a directory others may write to, /tmp included
        Path safe = Files.createTempDirectory(Path.of("/run"), "postern-opendkim-");
        try {
            signAndVerify(dir, safe);
        } finally {
            try (var files = Files.walk(safe)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private void signAndVerify(Path dir, Path safe) throws Exception {
        Path keys = Files.createDirectories(safe.resolve("keys"));
        run(List.of("opendkim-genkey", "-D", keys.toString(), "-d", "example.test", "-s", "sel"), null);
        // the TXT record as opendkim-genkey wrote it: its quoted strings, kept apart (each under 255 octets)
        Matcher q = Pattern.compile("\"([^\"]*)\"").matcher(Files.readString(keys.resolve("sel.txt")));
        List<String> parts = new ArrayList<>();
        while (q.find()) parts.add("\"" + q.group(1) + "\"");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path conf = Files.writeString(safe.resolve("opendkim.conf"), """
                Syslog no
                Mode s
                Domain example.test
                Selector sel
                KeyFile %s
                Canonicalization relaxed/simple
                InternalHosts 127.0.0.1
                Socket inet:%d@127.0.0.1
                PidFile %s
                """.formatted(keys.resolve("sel.private"), port, dir.resolve("opendkim.pid")));
        Process opendkim = new ProcessBuilder("opendkim", "-f", "-x", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("opendkim.log").toFile()).start();
        try (TestDnsServer dns = new TestDnsServer().zone("sel._domainkey.example.test. IN TXT " + String.join(" ", parts))) {
            awaitListening(opendkim, port, dir.resolve("opendkim.log"));
            Config.Milter m = new Config.Milter(List.of("inet:127.0.0.1:" + port), "tempfail", Duration.ofSeconds(5), Duration.ofSeconds(30),
                    Duration.ofSeconds(60));
            try (TestServer s = TestServer.builder().user("bob@example.test").milter(m).start();
                 SmtpClient c = SmtpClient.ehlo(s.smtp())) {
                assertThat(c.sendMail("alice@example.test", "bob@example.test", "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\n"
                        + "Subject: signed by OpenDKIM\r\nDate: Wed, 2 Dec 2026 10:00:00 +0000\r\n\r\nHello Bob,\r\n\r\nsigned on the way in.\r\n"))
                        .startsWith("250 2.0.0 Ok: queued as");
                String stored = Files.readString(s.awaitMail("bob@example.test", 1).get(0)).replace("\n", "\r\n");
                assertThat(stored).contains("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.test;");
                // dkimpy reads the message as a receiver would, without our local Return-Path and Delivered-To
                String received = stored.substring(stored.indexOf("Received:"));
                assertThat(verify(received, dns.address().getPort(), dir)).isEqualTo("pass");
            }
        } finally {
            opendkim.destroy();
            opendkim.waitFor();
        }
    }

    private static void awaitListening(Process p, int port, Path log) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) throw new AssertionError("opendkim exited: " + Files.readString(log));
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (java.io.IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("opendkim did not listen: " + Files.readString(log));
    }

    private static String verify(String message, int dnsPort, Path dir) throws Exception {
        Path script = dir.resolve("dkim_tool.py");
        try (var in = OpenDkimMilterTest.class.getResourceAsStream("/interop/dkim_tool.py")) {
            Files.copy(in, script);
        }
        return run(List.of("/usr/bin/python3", script.toString(), "verify", String.valueOf(dnsPort)), message).strip();
    }

    private static String run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(cmd + ": " + out).isZero();
        return out;
    }
}
