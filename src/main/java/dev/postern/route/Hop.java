package dev.postern.route;

import java.net.InetAddress;

/**
 * One address to try, in order: the host name it came from (for logs and TLS), its address and port; or
 * a unix-domain socket (socketPath set, address null).
 */
public record Hop(String host, InetAddress address, int port, String socketPath) {
    public Hop(String host, InetAddress address, int port) { this(host, address, port, null); }

    public static Hop unixSocket(String path) { return new Hop(path, null, 0, path); }

    public boolean isUnixSocket() { return socketPath != null; }

    /** Postfix's log form: host[address]:port, or unix:PATH. */
    @Override public String toString() {
        return socketPath != null ? "unix:" + socketPath : host + "[" + address.getHostAddress() + "]:" + port;
    }
}
