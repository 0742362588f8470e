package dev.postern.smtp.sasl;

import java.nio.charset.StandardCharsets;

/** The LOGIN mechanism (draft-murchison-sasl-login): "Username:" then "Password:". */
public final class LoginMechanism implements SaslServer {
    private String username;

    @Override public Step start(byte[] initial) {
        if (initial != null) return next(initial);
        return new Challenge("Username:".getBytes(StandardCharsets.US_ASCII));
    }

    @Override public Step next(byte[] response) {
        String s = new String(response, StandardCharsets.UTF_8);
        if (username == null) {
            if (s.isEmpty()) return new Malformed("empty username");
            username = s;
            return new Challenge("Password:".getBytes(StandardCharsets.US_ASCII));
        }
        return new Verify(new Credentials.Password(username, s));
    }
}
