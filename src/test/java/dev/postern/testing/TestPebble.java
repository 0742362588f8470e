package dev.postern.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Let's Encrypt's ACME test server (Debian's pebble) on loopback: its directory over HTTPS with a test-CA
 * certificate for 127.0.0.1, names resolved through the given DNS server, HTTP-01 validation against
 * 127.0.0.1:httpPort. No random validation delays and no nonce rejections, so the tests are quick and
 * repeatable. A child process; close() stops it.
 */
public final class TestPebble implements AutoCloseable {
    public final int httpPort;
    public final Path caFile;
    public final Path log;
    private final int port;
    private final Process process;

    private TestPebble(int port, int httpPort, Path caFile, Path log, Process process) {
        this.port = port;
        this.httpPort = httpPort;
        this.caFile = caFile;
        this.log = log;
        this.process = process;
    }

    public URI directory() { return URI.create("https://127.0.0.1:" + port + "/dir"); }

    public static TestPebble start(Path dir, InetSocketAddress dns) throws Exception {
        TestCa ca = new TestCa(dir.resolve("ca"));
        Path[] cert = ca.issue("pebble", "localhost", "127.0.0.1");
        int port = freePort(), management = freePort(), http = freePort(), tls = freePort();
        Path config = Files.writeString(dir.resolve("pebble.json"), """
                {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
                 "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
                 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
                """.formatted(port, management, cert[0], cert[1], http, tls));
        Path log = dir.resolve("pebble.log");
        ProcessBuilder pb = new ProcessBuilder("pebble", "-config", config.toString(), "-dnsserver",
                dns.getAddress().getHostAddress() + ":" + dns.getPort()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PEBBLE_VA_NOSLEEP", "1");
        pb.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
        Process p = pb.start();
        TestPebble pebble = new TestPebble(port, http, ca.certFile, log, p);
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) throw new IOException("pebble exited: " + Files.readString(log));
            try (Socket s = new Socket("127.0.0.1", port)) {
                return pebble;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        pebble.close();
        throw new IOException("pebble did not listen on " + port + ": " + Files.readString(log));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override public void close() {
        process.destroy();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
