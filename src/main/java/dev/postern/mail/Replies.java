package dev.postern.mail;

/** The catalogue of replies Postern sends, named by meaning. Codes: RFC 5321 4.2; enhanced: RFC 3463. */
public final class Replies {
    private Replies() {}

    public static final Reply OK = Reply.of(250, "2.0.0", "Ok");
    public static final Reply SENDER_OK = Reply.of(250, "2.1.0", "Sender ok");
    public static final Reply RECIPIENT_OK = Reply.of(250, "2.1.5", "Recipient ok");
    public static final Reply RESET_OK = Reply.of(250, "2.0.0", "Reset state");
    public static final Reply START_DATA = Reply.of(354, null, "End data with <CR><LF>.<CR><LF>");
    public static final Reply BYE = Reply.of(221, "2.0.0", "Bye");
    public static final Reply READY_TLS = Reply.of(220, "2.0.0", "Ready to start TLS");
    public static final Reply AUTH_OK = Reply.of(235, "2.7.0", "Authentication successful");
    // RFC 5321 3.5.3: VRFY may answer 252 without confirming; we never reveal whether a user exists.
    public static final Reply CANNOT_VRFY = Reply.of(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");

    public static final Reply SHUTTING_DOWN = Reply.of(421, "4.3.2", "Service shutting down, closing connection");
    public static final Reply IDLE_TIMEOUT = Reply.of(421, "4.4.2", "Timeout exceeded, closing connection");
    public static final Reply TOO_MANY_CONNECTIONS = Reply.of(421, "4.7.0", "Too many connections, try again later");
    public static final Reply TOO_MANY_CONNECTIONS_FROM_IP = Reply.of(421, "4.7.0", "Too many connections from your address, try again later");
    public static final Reply TOO_MANY_ERRORS = Reply.of(421, "4.7.0", "Error: too many errors, closing connection");
    public static final Reply TOO_MUCH_JUNK = Reply.of(421, "4.7.0", "Error: too many NOOP, RSET, VRFY or HELP commands, closing connection");
    public static final Reply TOO_MANY_AUTH_FAILURES = Reply.of(421, "4.7.0", "Too many authentication failures, closing connection");
    public static final Reply AUTH_RATE_LIMITED = Reply.of(454, "4.7.0", "Too many failed authentication attempts from your address, try again later");
    public static final Reply LOCAL_ERROR = Reply.of(451, "4.3.0", "Local error in processing, message not accepted");
    public static final Reply INSUFFICIENT_STORAGE = Reply.of(452, "4.3.1", "Insufficient system storage, message not accepted");
    public static final Reply TOO_MANY_RECIPIENTS = Reply.of(452, "4.5.3", "Too many recipients");
    public static final Reply TLS_UNAVAILABLE = Reply.of(454, "4.7.0", "TLS not available");

    public static final Reply LINE_TOO_LONG = Reply.of(500, "5.5.6", "Line too long (512 octets maximum)");
    public static final Reply UNKNOWN_COMMAND = Reply.of(500, "5.5.2", "Command not recognized");
    public static final Reply BARE_LF_COMMAND = Reply.of(500, "5.5.2", "Bare <LF> or <CR> in command; lines end with <CR><LF>");
    public static final Reply SYNTAX_ERROR = Reply.of(501, "5.5.4", "Syntax error in parameters or arguments");
    public static final Reply BAD_ADDRESS_SYNTAX = Reply.of(501, "5.1.3", "Bad address syntax");
    public static final Reply BAD_SENDER_SYNTAX = Reply.of(501, "5.1.7", "Bad sender address syntax");
    public static final Reply BAD_BASE64 = Reply.of(501, "5.5.2", "Cannot decode base64 response");
    public static final Reply AUTH_CANCELLED = Reply.of(501, "5.0.0", "Authentication cancelled");
    public static final Reply NOT_IMPLEMENTED = Reply.of(502, "5.5.1", "Command not implemented");
    public static final Reply EXPN_DISABLED = Reply.of(502, "5.5.1", "EXPN not available");
    public static final Reply BAD_SEQUENCE = Reply.of(503, "5.5.1", "Bad sequence of commands");
    public static final Reply NEED_EHLO = Reply.of(503, "5.5.1", "Send EHLO or HELO first");
    public static final Reply NEED_MAIL = Reply.of(503, "5.5.1", "Need MAIL command first");
    public static final Reply NEED_RCPT = Reply.of(503, "5.5.1", "Need RCPT command first");
    public static final Reply ALREADY_AUTHENTICATED = Reply.of(503, "5.5.1", "Already authenticated");
    public static final Reply NESTED_MAIL = Reply.of(503, "5.5.1", "Sender already specified");
    public static final Reply BDAT_AFTER_DATA_MIX = Reply.of(503, "5.5.1", "DATA not allowed after BDAT");
    public static final Reply UNKNOWN_MECHANISM = Reply.of(504, "5.5.4", "Unrecognized authentication mechanism");
    public static final Reply AUTH_REQUIRED = Reply.of(530, "5.7.0", "Authentication required");
    public static final Reply TLS_REQUIRED = Reply.of(530, "5.7.0", "Must issue a STARTTLS command first");
    public static final Reply BAD_CREDENTIALS = Reply.of(535, "5.7.8", "Authentication credentials invalid");
    // RFC 4954 6: 538 when a mechanism needs encryption; we require TLS for every mechanism.
    public static final Reply ENCRYPTION_REQUIRED = Reply.of(538, "5.7.11", "Encryption required for requested authentication mechanism");
    public static final Reply NO_SUCH_USER = Reply.of(550, "5.1.1", "Recipient address rejected: user unknown");
    public static final Reply RELAY_DENIED = Reply.of(554, "5.7.1", "Relay access denied");
    public static final Reply SMUGGLING = Reply.of(550, "5.5.2", "Message rejected: bare <CR> or <LF> in message data (RFC 5321 2.3.8)");
    public static final Reply MESSAGE_TOO_BIG = Reply.of(552, "5.3.4", "Message size exceeds fixed maximum message size");
    public static final Reply MAIL_LOOP = Reply.of(554, "5.4.6", "Too many hops: mail loop detected");
    public static final Reply NO_VALID_RECIPIENTS = Reply.of(554, "5.5.1", "No valid recipients");
    public static final Reply BAD_PARAMETER = Reply.of(555, "5.5.4", "Unsupported or unrecognized parameter");
}
