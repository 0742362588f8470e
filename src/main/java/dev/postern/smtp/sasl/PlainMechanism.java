package dev.postern.smtp.sasl;

import java.nio.charset.StandardCharsets;

/** RFC 4616 PLAIN: [authzid] NUL authcid NUL passwd. */
public final class PlainMechanism implements SaslServer {

    @Override public Step start(byte[] initial) {
        return initial == null ? new Challenge(new byte[0]) : next(initial);
    }

    @Override public Step next(byte[] response) {
        String s = new String(response, StandardCharsets.UTF_8);
        String[] parts = s.split("\0", -1);
        if (parts.length != 3 || parts[1].isEmpty()) return new Malformed("PLAIN needs authzid NUL authcid NUL password");
        // We only let a user act as themselves: an authzid other than the authcid is refused by the caller.
        if (!parts[0].isEmpty() && !parts[0].equalsIgnoreCase(parts[1])) return new Malformed("authzid differs from authcid");
        return new Verify(new Credentials.Password(parts[1], parts[2]));
    }
}
