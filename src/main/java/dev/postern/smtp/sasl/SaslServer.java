package dev.postern.smtp.sasl;

/**
 * One SASL exchange on the server side (RFC 4422, as SMTP carries it in RFC 4954). Each client line is
 * fed in decoded; the mechanism answers with a challenge, a request to verify credentials, or a failure.
 */
public sealed interface SaslServer permits PlainMechanism, LoginMechanism, CramMd5Mechanism {

    sealed interface Step permits Challenge, Verify, Malformed {}

    /** Send "334 " + base64(challenge) and wait for the next line. */
    record Challenge(byte[] challenge) implements Step {}

    /** The exchange is complete; the caller checks these credentials. */
    record Verify(Credentials credentials) implements Step {}

    /** The client's response does not fit the mechanism. */
    record Malformed(String why) implements Step {}

    /** First step: the optional initial response from the AUTH command (null when absent). */
    Step start(byte[] initialResponse);

    Step next(byte[] response);

    static SaslServer forName(String name, String hostname) {
        return switch (name) {
            case "PLAIN" -> new PlainMechanism();
            case "LOGIN" -> new LoginMechanism();
            case "CRAM-MD5" -> new CramMd5Mechanism(hostname);
            default -> null;
        };
    }
}
