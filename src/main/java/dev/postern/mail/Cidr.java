package dev.postern.mail;

import java.net.InetAddress;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 network in CIDR notation, e.g. 127.0.0.2/32 or ::1/128. */
public record Cidr(byte[] network, int prefix) {
    private static final Pattern LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");

    /** Parses "addr/len" or a bare address (a host route). Returns null when malformed. */
    public static Cidr parse(String s) {
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (!LITERAL.matcher(addr).matches() || !(addr.contains(".") || addr.contains(":"))) return null;
        try {
            byte[] net = InetAddress.getByName(addr).getAddress(); // a literal: no DNS lookup happens
            int max = net.length * 8;
            int prefix = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
            if (prefix < 0 || prefix > max) return null;
            return new Cidr(net, prefix);
        } catch (Exception e) {
            return null;
        }
    }

    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) return false;
        int full = prefix / 8;
        for (int i = 0; i < full; i++) if (a[i] != network[i]) return false;
        int rest = prefix % 8;
        if (rest == 0) return true;
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (network[full] & mask);
    }
}
