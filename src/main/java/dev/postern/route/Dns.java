package dev.postern.route;

import java.net.InetAddress;
import java.util.List;

/** The DNS questions routing asks. One interface, so tests can point it at a server on loopback. */
public interface Dns {

    enum Status { OK, NODATA, NXDOMAIN, TEMPFAIL }

    record Mx(int preference, String host) {}

    /** An answer: OK with values, NODATA (name exists, no such records), NXDOMAIN, or TEMPFAIL. */
    record Answer<T>(Status status, List<T> values, String detail) {
        public static <T> Answer<T> of(List<T> values) { return new Answer<>(Status.OK, List.copyOf(values), null); }
        public static <T> Answer<T> failed(Status s, String detail) { return new Answer<>(s, List.of(), detail); }
    }

    /** MX records of a domain, CNAMEs followed. */
    Answer<Mx> mx(String domain);

    /** A and AAAA records of a host, CNAMEs followed. */
    Answer<InetAddress> addresses(String host);

    /** TXT records of a name, each record's strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2), CNAMEs followed. */
    Answer<String> txt(String name);

    /** PTR names of an address (reverse DNS), without the trailing dot. */
    Answer<String> ptr(InetAddress address);
}
