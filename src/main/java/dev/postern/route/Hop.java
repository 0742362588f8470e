package dev.postern.route;

import java.net.InetAddress;

/** One address to try, in order: the host name it came from (for logs and TLS), its address and port. */
public record Hop(String host, InetAddress address, int port) {
    /** Postfix's log form: host[address]:port */
    @Override public String toString() { return host + "[" + address.getHostAddress() + "]:" + port; }
}
