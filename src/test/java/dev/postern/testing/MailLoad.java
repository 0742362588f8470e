package dev.postern.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Load for the durability tests: clients that send numbered messages (X-Test-Id) and remember which got a
 * 250, and a count of each id in a Maildir, so that "every acknowledged message exactly once" can be checked.
 */
public final class MailLoad {
    static final Pattern MARK = Pattern.compile("X-Test-Id: (\\S+)");

    private MailLoad() {}

    /**
     * One connection, messages to rcpt until anything fails or stop is set; acked gets the ids that got 250.
     * Returns why it ended ("stopped", or the failure), for tests to show when a client took nothing.
     */
    public static String sendUntilError(String host, int port, String rcpt, String prefix, Set<String> acked, AtomicBoolean stop) {
        try (Socket s = new Socket(host, port)) {
            s.setSoTimeout(10_000);
            var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            send(out, "EHLO load.test\r\n");
            expect(in, "250 ");
            for (int n = 0; !stop.get(); n++) {
                String id = prefix + n;
                send(out, "MAIL FROM:<c@remote.test>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n");
                expect(in, "250");
                expect(in, "250");
                expect(in, "354");
                send(out, "Subject: load\r\nX-Test-Id: " + id + "\r\n\r\n" + "body line\r\n".repeat(50) + ".\r\n");
                if (expect(in, "250").startsWith("250")) acked.add(id);
            }
            return "stopped";
        } catch (IOException | RuntimeException e) {
            // the server was killed: whatever did not get its 250 is allowed to be lost
            return e.toString();
        }
    }

    public static void send(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** The next (last line of a) reply; an IOException unless it starts with prefix. */
    public static String expect(BufferedReader in, String prefix) throws IOException {
        String l;
        do {
            l = in.readLine();
            if (l == null) throw new IOException("closed");
        } while (l.length() > 3 && l.charAt(3) == '-');
        if (!l.startsWith(prefix)) throw new IOException("unexpected " + l);
        return l;
    }

    /** How many times each X-Test-Id is in a Maildir (new/ and cur/). */
    public static Map<String, Integer> countIds(Path maildir) throws IOException {
        Map<String, Integer> seen = new HashMap<>();
        for (String sub : List.of("new", "cur")) {
            Path d = maildir.resolve(sub);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.toList()) {
                    Matcher m = MARK.matcher(Files.readString(f));
                    if (m.find()) seen.merge(m.group(1), 1, Integer::sum);
                }
            }
        }
        return seen;
    }
}
