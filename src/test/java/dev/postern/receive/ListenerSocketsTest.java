package dev.postern.receive;

import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * With epoll, a listener is one SO_REUSEPORT socket per event loop (each loop serves what it accepted);
 * the option must not let Postern share a port that something else already holds.
 */
class ListenerSocketsTest {

    @Test void oneListeningSocketPerEventLoopAndEveryConnectionServed() throws Exception {
        try (TestServer t = TestServer.builder().start()) {
            int expected = Epoll.isAvailable() ? Runtime.getRuntime().availableProcessors() : 1;
            assertThat(listening(t.smtp())).as("listening sockets on the smtp port").isEqualTo(expected);
            // connections land on every socket the kernel picks; each is greeted and takes mail
            List<SmtpClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 24; i++) clients.add(SmtpClient.ehlo(t.smtp()));
                for (SmtpClient c : clients) assertThat(c.sendMail("a@example.test", "alice@example.test", "Subject: s")).startsWith("250");
            } finally {
                for (SmtpClient c : clients) c.close();
            }
            assertThat(t.awaitMail("alice@example.test", 24)).hasSize(24);
        }
    }

    @Test void aPortHeldWithSoReusePortByAnotherSocketIsRefused() throws Exception {
        try (ServerSocketChannel other = ServerSocketChannel.open()) {
            // what a second Postern of the same user would hold: the kernel would let us join it
            other.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            other.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) other.getLocalAddress()).getPort();
            assertThatThrownBy(() -> TestServer.builder().smtpPort(port).start().close())
                    .hasStackTraceContaining("cannot listen on 127.0.0.1:" + port);
        }
    }

    /** LISTEN sockets on this local port, from /proc/net/tcp and tcp6 (state 0A). */
    static long listening(int port) throws Exception {
        String hex = String.format(Locale.ROOT, ":%04X", port);
        long n = 0;
        for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(f))) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length > 3 && cols[1].endsWith(hex) && cols[3].equals("0A")) n++;
            }
        }
        return n;
    }
}
