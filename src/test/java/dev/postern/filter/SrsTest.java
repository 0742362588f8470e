package dev.postern.filter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** SRS as postsrsd writes it: our own round trips, age and forgery, and both directions against Debian's postsrsd. */
class SrsTest {
    private static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");

    private static Srs srs(Instant now, String... secrets) {
        return new Srs(List.of(secrets), "srs.example.test", Set.of("partner.test"), 21, Clock.fixed(now, ZoneOffset.UTC));
    }

    @Test void forwardsAndReversesSrs0AndSrs1() {
        Srs s = srs(NOW, "secret");
        String a = s.forward("alice", "remote.test");
        assertThat(a).matches("SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=remote.test=alice@srs.example.test");
        String local = a.substring(0, a.indexOf('@'));
        assertThat(s.reverse(local, "srs.example.test")).isEqualTo(new Srs.Reversed.Address("alice@remote.test"));
        assertThat(s.reverse(local.toLowerCase(), "SRS.example.test")).as("local parts lower-cased on the way").isEqualTo(
                new Srs.Reversed.Address("alice@remote.test"));
        // another forwarder's SRS0 address: wrapped as SRS1, reversed to that forwarder's address
        String theirs = "SRS0=abcd=JV=orig.test=bob";
        String wrapped = s.forward(theirs, "first.test");
        assertThat(wrapped).matches("SRS1=[A-Za-z0-9+/]{4}=first.test==abcd=JV=orig.test=bob@srs.example.test");
        assertThat(s.reverse(wrapped.substring(0, wrapped.indexOf('@')), "srs.example.test"))
                .isEqualTo(new Srs.Reversed.Address("SRS0=abcd=JV=orig.test=bob@first.test"));
        // our own domain and excluded domains are not rewritten; other addresses are not SRS
        assertThat(s.forward("carol", "srs.example.test")).isNull();
        assertThat(s.forward("carol", "partner.test")).isNull();
        assertThat(s.reverse("carol", "srs.example.test")).isInstanceOf(Srs.Reversed.NotSrs.class);
        assertThat(s.reverse(local, "other.test")).isInstanceOf(Srs.Reversed.NotSrs.class);
    }

    @Test void forgedAndExpiredAddressesAreRefusedAndOldSecretsStillReverse() {
        Srs s = srs(NOW, "secret");
        String local = s.forward("alice", "remote.test").split("@")[0];
        String forged = local.replaceFirst("SRS0=....", "SRS0=AAAA");
        assertThat(s.reverse(forged, "srs.example.test")).isEqualTo(new Srs.Reversed.Invalid("SRS hash does not match"));
        assertThat(s.reverse(local.replace("alice", "mallory"), "srs.example.test")).isInstanceOf(Srs.Reversed.Invalid.class);
        assertThat(srs(NOW.plus(Duration.ofDays(21)), "secret").reverse(local, "srs.example.test")).isInstanceOf(Srs.Reversed.Address.class);
        assertThat(srs(NOW.plus(Duration.ofDays(22)), "secret").reverse(local, "srs.example.test"))
                .isEqualTo(new Srs.Reversed.Invalid("SRS address expired"));
        // a new secret first: addresses made with the old one still reverse
        assertThat(srs(NOW, "new", "secret").reverse(local, "srs.example.test")).isInstanceOf(Srs.Reversed.Address.class);
        assertThat(srs(NOW, "other").reverse(local, "srs.example.test")).isInstanceOf(Srs.Reversed.Invalid.class);
    }

    @Test void postsrsdReversesOursAndWeReverseItsWithTheSameSecret(@TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("secret"), "shared-secret\n");
        int forward = freePort(), reverse = freePort();
        Process p = new ProcessBuilder("postsrsd", "-s", secret.toString(), "-d", "srs.example.test", "-l", "127.0.0.1", "-4",
                "-f", String.valueOf(forward), "-r", String.valueOf(reverse)).redirectErrorStream(true)
                .redirectOutput(dir.resolve("postsrsd.log").toFile()).start();
        try {
            Srs ours = new Srs(List.of("shared-secret"), "srs.example.test", Set.of(), 21, Clock.systemUTC());
            String mine = ours.forward("alice", "remote.test");
            assertThat(tcpTable(reverse, mine)).isEqualTo("200 alice@remote.test");
            String theirs = tcpTable(forward, "carol@other.test");
            assertThat(theirs).startsWith("200 SRS0=");
            String addr = theirs.substring(4);
            assertThat(addr).isEqualTo(ours.forward("carol", "other.test")); // the very same address
            assertThat(ours.reverse(addr.split("@")[0], "srs.example.test")).isEqualTo(new Srs.Reversed.Address("carol@other.test"));
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Postfix's tcp_table protocol, as postsrsd 1.x serves it: "get KEY" → "200 VALUE" or "500 reason". */
    private static String tcpTable(int port, String key) throws Exception {
        for (int i = 0; i < 100; i++) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                OutputStream out = s.getOutputStream();
                out.write(("get " + key + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            } catch (java.net.ConnectException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("postsrsd did not listen on " + port);
    }
}
