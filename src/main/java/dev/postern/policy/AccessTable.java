package dev.postern.policy;

import dev.postern.mail.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An allow/block list file, Postfix access(5) style: one "key action [text]" per line, # for comments.
 * Keys are matched most specific first: "user@example.com", "user@", "example.com", then ".example.com"
 * for subdomains (and, for host names, "host.example.com" then ".example.com"). Actions: permit, reject,
 * defer, and bulk (the message is delivered in the bulk priority class; the next check is asked). The file is re-read by {@link #reload()} (SIGHUP or the admin endpoint); a file with mistakes is
 * refused and the previous table stays in force.
 */
public final class AccessTable {
    private static final Logger log = LoggerFactory.getLogger("postern.policy");

    private final Path file;
    private volatile Map<String, String[]> entries = Map.of();

    public AccessTable(Path file) throws IOException {
        this.file = file;
        this.entries = read(file);
    }

    public Path file() { return file; }

    /** Re-reads the file; returns the problem, or null when the new table is in force. */
    public String reload() {
        try {
            entries = read(file);
            log.info("reloaded access table {} ({} entries)", file, entries.size());
            return null;
        } catch (IOException e) {
            log.warn("access table {} not reloaded: {}", file, e.getMessage());
            return e.getMessage();
        }
    }

    static Map<String, String[]> read(Path file) throws IOException {
        Map<String, String[]> out = new LinkedHashMap<>();
        int n = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            n++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            String[] f = l.split("\\s+", 3);
            String action = f.length > 1 ? f[1].toLowerCase(Locale.ROOT) : "";
            if (!action.equals("permit") && !action.equals("reject") && !action.equals("defer") && !action.equals("bulk")) {
                throw new IOException(file + ":" + n + ": expected \"key permit|reject|defer|bulk [text]\", got \"" + l + "\"");
            }
            out.put(f[0].toLowerCase(Locale.ROOT), new String[] {action, f.length > 2 ? f[2] : null});
        }
        return out;
    }

    /** The first entry among the candidate keys, most specific first; null when none matches. */
    String[] lookup(List<String> keys) {
        Map<String, String[]> e = entries;
        for (String k : keys) {
            String[] v = e.get(k);
            if (v != null) return v;
        }
        return null;
    }

    /** Candidate keys of an address: full address, local part with @, domain, then parent domains with a leading dot. */
    static List<String> addressKeys(String local, String domain) {
        List<String> keys = new ArrayList<>();
        keys.add((local + "@" + domain).toLowerCase(Locale.ROOT));
        keys.add(local.toLowerCase(Locale.ROOT) + "@");
        keys.addAll(hostKeys(domain));
        return keys;
    }

    /** "a.b.example.com", ".b.example.com", ".example.com", ".com". */
    static List<String> hostKeys(String host) {
        List<String> keys = new ArrayList<>();
        String h = host.toLowerCase(Locale.ROOT);
        keys.add(h);
        for (int dot = h.indexOf('.'); dot >= 0; dot = h.indexOf('.', dot + 1)) keys.add(h.substring(dot));
        return keys;
    }

    /** The verdict an entry gives, for a check of the given name. */
    static Verdict verdict(String check, String[] entry, String what) {
        if (entry == null) return Verdict.CONTINUE;
        return switch (entry[0]) {
            case "permit" -> new Verdict.Accept(check);
            case "bulk" -> new Verdict.Classify(check, "bulk"); // deliver in the bulk class; later checks still run
            case "defer" -> new Verdict.Defer(check, Reply.of(450, "4.7.1", what + ": " + (entry[1] != null ? entry[1] : "try again later")));
            default -> new Verdict.Reject(check, Reply.of(554, "5.7.1", what + ": " + (entry[1] != null ? entry[1] : "Access denied")));
        };
    }
}
