package dev.postern.smtp.sasl;

/** What a SASL exchange proves: either a password, or a CRAM-MD5 challenge and digest to check. */
public sealed interface Credentials {
    String username();

    record Password(String username, String password) implements Credentials {}

    record CramMd5(String username, byte[] challenge, String hexDigest) implements Credentials {}
}
