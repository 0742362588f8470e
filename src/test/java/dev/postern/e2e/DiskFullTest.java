package dev.postern.e2e;

import dev.postern.admin.Server;
import dev.postern.auth.UserStore;
import dev.postern.config.Config;
import dev.postern.testing.SmtpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real full file system (a 2 MiB tmpfs; the test suite runs as root, as run-tests requires):
 * a message that does not fit gets 452 4.3.1 and leaves nothing behind; the next small one is accepted.
 */
class DiskFullTest {
    Path mount;

    @BeforeEach void mountTmpfs() throws Exception {
        mount = Files.createTempDirectory("postern-full");
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("mounting a tmpfs needs root: " + out).isZero();
    }

    @AfterEach void unmount() throws Exception {
        assertThat(new ProcessBuilder("umount", mount.toString()).inheritIO().start().waitFor()).isZero();
        Files.deleteIfExists(mount);
    }

    @ParameterizedTest
    @EnumSource(value = Config.Store.class, names = {"LOG", "FILES"}) // PostgreSQL's disk is the database's: see ClusterOutageTest
    void fullDiskGives452AndNoHalfWrittenMessage(Config.Store store) throws Exception {
        Path data = mount.resolve("data");
        Config c = new Config("mx.example.test", data, Set.of("example.test"), List.of(),
                List.of(new Config.Listener("smtp", "127.0.0.1", 0, Config.Kind.SMTP)), new Config.Tls(null, null),
                new Config.Limits(50_000_000, 100, 100, 100, Duration.ofMinutes(5), Duration.ofMinutes(3)),
                Map.of(), data.resolve("users"), null, Config.Delivery.defaults("mx.example.test"), Map.of(),
                Config.QueueSettings.DEFAULT.withStore(store), new Config.Admin("127.0.0.1", 0));
        new UserStore(c.usersFile()).put("alice@example.test", "pw");
        try (Server server = Server.start(c, Clock.systemUTC());
             SmtpClient client = SmtpClient.ehlo(server.smtp().boundPort("smtp"))) {
            client.command("MAIL FROM:<x@remote.test>", "250");
            client.command("RCPT TO:<alice@example.test>", "250");
            client.command("DATA", "354");
            String line = "z".repeat(998) + "\r\n";
            for (int i = 0; i < 3000; i++) client.raw(line); // about 3 MB into a 2 MiB file system
            client.raw(".\r\n");
            client.expect("452 4.3.1");
            // nothing of the 3 MB stays behind: the small message below fits in what is left
            assertThat(server.queue().list()).isEmpty();
            assertThat(client.sendMail("x@remote.test", "alice@example.test", "Subject: small\r\n\r\nfits")).startsWith("250 2.0.0");
            long used = Long.MAX_VALUE;
            for (int i = 0; i < 100 && used >= 400_000; i++, Thread.sleep(50)) {
                try (var files = Files.walk(data)) {
                    used = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
                }
            }
            assertThat(used).as("bytes left in the data directory once the small message is delivered").isLessThan(400_000);
        }
        // and a restart finds no half-written message to deliver
        try (Server again = Server.start(c, Clock.systemUTC())) {
            assertThat(again.queue().list()).isEmpty();
        }
    }
}
