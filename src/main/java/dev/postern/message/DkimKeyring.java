package dev.postern.message;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Signing keys by domain, read from a directory of DOMAIN.SELECTOR.key files (PKCS#8 PEM), as
 * {@code postern dkim keygen} writes them. A domain with several keys (say RSA and Ed25519) is signed with each.
 * Read at start and again on {@link #reload()} (SIGHUP, POST /policy/reload).
 */
public final class DkimKeyring {
    private static final Logger log = LoggerFactory.getLogger("postern.dkim");

    private final Path dir;
    private volatile Map<String, List<DkimSigner.Key>> keys;

    private DkimKeyring(Path dir) {
        this.dir = dir;
        this.keys = read(dir);
    }

    public static DkimKeyring empty() { return new DkimKeyring(null); }

    public static DkimKeyring load(Path dir) { return new DkimKeyring(dir); }

    public void reload() { keys = read(dir); }

    private static Map<String, List<DkimSigner.Key>> read(Path dir) {
        Map<String, List<DkimSigner.Key>> out = new HashMap<>();
        if (dir == null || !Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.key")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String base = name.substring(0, name.length() - 4);
                int dot = base.lastIndexOf('.');
                if (dot <= 0) {
                    log.warn("ignoring DKIM key {}: expected DOMAIN.SELECTOR.key", f);
                    continue;
                }
                String selector = base.substring(dot + 1);
                String domain = base.substring(0, dot).toLowerCase(Locale.ROOT);
                try {
                    DkimSigner.Key k = new DkimSigner.Key(domain, selector, DkimKeys.readPrivateKey(Files.readString(f)));
                    out.computeIfAbsent(domain, d -> new ArrayList<>()).add(k);
                    log.info("DKIM signing key for {}: selector {}, {}", domain, selector, k.algorithm());
                } catch (Exception e) {
                    log.warn("ignoring DKIM key {}: {}", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("cannot read DKIM keys in {}: {}", dir, e.toString());
        }
        out.values().forEach(l -> l.sort((a, b) -> a.selector().compareTo(b.selector())));
        return out;
    }

    public boolean isEmpty() { return keys.isEmpty(); }

    public List<DkimSigner.Key> forDomain(String domain) {
        return keys.getOrDefault(domain.toLowerCase(Locale.ROOT), List.of());
    }
}
