package dev.postern.mail;

/**
 * Signs messages this server writes itself (delivery notices): it sees every octet of the content as it is
 * written and then returns the header fields to put in front (a DKIM-Signature), or nothing.
 */
public interface ContentSigner {

    /** One message being signed. */
    interface Session {
        void update(byte[] b, int off, int len);

        /** The fields to prepend, CRLF-terminated; empty when there is no key for the message. */
        byte[] finish();
    }

    Session begin();

    ContentSigner NONE = () -> new Session() {
        @Override public void update(byte[] b, int off, int len) {}

        @Override public byte[] finish() { return new byte[0]; }
    };
}
