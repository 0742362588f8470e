package dev.postern.testing;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A raw SMTP client for transcript tests: {@code c.send("RCPT TO:<x@remote.test>"); c.expect("554 5.7.1")}.
 * Reads whole (multi-line) replies; never interprets them beyond that.
 */
public final class SmtpClient implements AutoCloseable {
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    private SmtpClient(Socket s) throws IOException {
        use(s);
    }

    private void use(Socket s) throws IOException {
        socket = s;
        socket.setSoTimeout(10_000);
        in = s.getInputStream();
        out = s.getOutputStream();
    }

    public static SmtpClient connect(int port) throws IOException { return connect("127.0.0.1", port); }

    public static SmtpClient connect(String host, int port) throws IOException {
        return new SmtpClient(new Socket(host, port));
    }

    /** Connects from a chosen loopback source address, e.g. 127.0.1.1, to look like another client network. */
    public static SmtpClient connectFrom(String source, int port) throws IOException { return connectFrom(source, "127.0.0.1", port); }

    public static SmtpClient connectFrom(String source, String host, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new java.net.InetSocketAddress(source, 0));
        s.connect(new java.net.InetSocketAddress(host, port));
        return new SmtpClient(s);
    }

    public static SmtpClient connectTls(int port) throws Exception {
        SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket("127.0.0.1", port);
        s.startHandshake();
        return new SmtpClient(s);
    }

    /** Connects, reads the greeting and says EHLO. */
    public static SmtpClient ehlo(int port) throws IOException { return ehlo("127.0.0.1", port); }

    /** Connects to a listener on another loopback address (a cluster node on 127.0.0.3, say). */
    public static SmtpClient ehlo(String host, int port) throws IOException {
        SmtpClient c = connect(host, port);
        c.expect("220 ");
        c.send("EHLO client.example");
        c.expect("250");
        return c;
    }

    public SmtpClient send(String line) throws IOException {
        return raw(line + "\r\n");
    }

    public SmtpClient raw(String data) throws IOException {
        return raw(data.getBytes(StandardCharsets.UTF_8));
    }

    public SmtpClient raw(byte[] data) throws IOException {
        out.write(data);
        out.flush();
        return this;
    }

    /** Reads one reply (all its lines) and returns it, lines joined by "\n". */
    public String reply() throws IOException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String l = readLine();
            if (l == null) throw new IOException("connection closed; got so far: " + lines);
            lines.add(l);
            if (l.length() < 4 || l.charAt(3) != '-') return String.join("\n", lines);
        }
    }

    /** Reads one reply and asserts that its last line starts with the prefix; returns the reply. */
    public String expect(String prefix) throws IOException {
        String r = reply();
        String last = r.substring(r.lastIndexOf('\n') + 1);
        assertThat(last).as("reply to the last command, whole reply: " + r).startsWith(prefix);
        return r;
    }

    /** Sends a command and checks its reply. */
    public String command(String line, String expectedPrefix) throws IOException {
        send(line);
        return expect(expectedPrefix);
    }

    /** True if the server closed the connection (reads EOF) within the socket timeout. */
    public boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Bytes that arrived and were not read yet. */
    public int available() throws IOException { return in.available(); }

    /** True if nothing arrives within the given time. */
    public boolean silentFor(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            int b = in.read();
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(10_000);
        }
    }

    public void startTls() throws Exception {
        command("STARTTLS", "220 2.0.0");
        upgrade();
    }

    public void upgrade() throws Exception {
        SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket(socket, "127.0.0.1", socket.getPort(), true);
        s.startHandshake();
        use(s);
    }

    /** The certificate the server presented, or null before TLS. */
    public X509Certificate peerCertificate() throws javax.net.ssl.SSLPeerUnverifiedException {
        return socket instanceof SSLSocket s ? (X509Certificate) s.getSession().getPeerCertificates()[0] : null;
    }

    public String tlsProtocol() {
        return socket instanceof SSLSocket s ? s.getSession().getProtocol() : null;
    }

    public void authPlain(String user, String password, String expectedPrefix) throws IOException {
        String token = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
        command("AUTH PLAIN " + token, expectedPrefix);
    }

    /** A complete message transaction; returns the final reply. */
    public String sendMail(String from, String to, String body) throws IOException {
        command("MAIL FROM:<" + from + ">", "250");
        command("RCPT TO:<" + to + ">", "250");
        command("DATA", "354");
        raw(body + "\r\n.\r\n");
        return reply();
    }

    private String readLine() throws IOException {
        return ScriptedPeer.readLine(in);
    }

    public static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }}, null);
        return ctx;
    }

    @Override public void close() throws IOException {
        socket.close();
    }
}
