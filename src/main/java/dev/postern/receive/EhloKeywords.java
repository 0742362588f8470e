package dev.postern.receive;

import java.util.ArrayList;
import java.util.List;

/** The EHLO reply's keyword lines (RFC 5321 4.1.1.1), depending on TLS state. */
final class EhloKeywords {
    private EhloKeywords() {}

    static List<String> lines(String greeting, long maxSize, boolean tlsActive, boolean tlsAvailable) {
        List<String> l = new ArrayList<>();
        l.add(greeting);
        l.add("PIPELINING");              // RFC 2920
        l.add("SIZE " + maxSize);         // RFC 1870
        l.add("8BITMIME");                // RFC 6152
        l.add("SMTPUTF8");                // RFC 6531
        l.add("CHUNKING");                // RFC 3030
        l.add("ENHANCEDSTATUSCODES");     // RFC 2034
        l.add("DSN");                     // RFC 3461
        if (!tlsActive && tlsAvailable) l.add("STARTTLS"); // RFC 3207
        if (tlsActive) l.add("AUTH PLAIN LOGIN CRAM-MD5"); // RFC 4954; only over TLS
        if (tlsActive) l.add("REQUIRETLS");  // RFC 8689 3: offered only on a TLS-protected session
        l.add("HELP");
        return l;
    }
}
