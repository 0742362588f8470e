package dev.postern.auth;

import dev.postern.smtp.sasl.Credentials;

import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;

/** Checks SASL credentials against the user store. Returns the canonical user name or null. */
public final class Authenticator {
    private final UserStore users;

    public Authenticator(UserStore users) { this.users = users; }

    public String verify(Credentials credentials) {
        UserStore.User u = users.get(credentials.username());
        if (u == null) {
            // spend comparable time for unknown users, so timing does not reveal which accounts exist
            PasswordHash.verify("x", DUMMY_HASH);
            return null;
        }
        boolean ok;
        if (credentials instanceof Credentials.Password p) {
            // parameters come from the stored hash, so hashes made with older settings still verify
            ok = PasswordHash.verify(p.password(), u.passwordHash());
        } else {
            Credentials.CramMd5 c = (Credentials.CramMd5) credentials;
            ok = MessageDigest.isEqual(u.cram().hmacHex(c.challenge()).getBytes(StandardCharsets.US_ASCII),
                    c.hexDigest().getBytes(StandardCharsets.US_ASCII));
        }
        return ok ? u.address() : null;
    }

    private static final String DUMMY_HASH = PasswordHash.hash("dummy");
}
