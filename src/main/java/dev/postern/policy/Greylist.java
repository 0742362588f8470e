package dev.postern.policy;

import dev.postern.mail.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Greylisting: the first attempt of an unknown (client network, sender, recipient) triplet is deferred
 * with 451 4.7.1; a retry after the delay and within the retry window passes, and the client network is
 * then whitelisted for a while. The network is the client's /24 (IPv4) or /64 (IPv6), since big senders
 * retry from neighbouring addresses. State is bounded (oldest entries dropped) and saved to a file every
 * few seconds, so it survives restarts; losing the last seconds of it only delays a sender once more.
 */
public final class Greylist implements Check {
    private static final Logger log = LoggerFactory.getLogger("postern.policy");
    private static final int MAX_ENTRIES = 200_000;

    public record Settings(Duration delay, Duration retryWindow, Duration whitelistFor) {
        public static final Settings DEFAULT = new Settings(Duration.ofMinutes(5), Duration.ofDays(2), Duration.ofDays(36));
    }

    private final Settings settings;
    private final Clock clock;
    private final Path file;
    /** key → {first seen, passed-until (0 if not passed)}; "net|" keys are whitelisted networks. */
    private final LinkedHashMap<String, long[]> state = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, long[]> e) { return size() > MAX_ENTRIES; }
    };
    private boolean dirty;
    /** The cluster's greylist (null: this node's map above, saved to the file). */
    private final PolicyState shared;

    public Greylist(Settings settings, Clock clock, Path file) throws IOException {
        this(settings, clock, file, null);
    }

    public Greylist(Settings settings, Clock clock, Path file, PolicyState shared) throws IOException {
        this.shared = shared;
        this.settings = settings;
        this.clock = clock;
        this.file = file;
        if (file != null && Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length == 3) state.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
    }

    @Override public String name() { return "greylist"; }

    @Override public boolean blocking() { return shared != null; }

    @Override public boolean waitsOnlyForDns() { return false; }

    private long[] get(String key) { return shared != null ? shared.greylistGet(key) : state.get(key); }

    private void put(String key, long first, long passedUntil) {
        if (shared != null) shared.greylistPut(key, first, passedUntil);
        else state.put(key, new long[] {first, passedUntil});
    }

    private void remove(String key) {
        if (shared != null) shared.greylistRemove(key);
        else state.remove(key);
    }

    @Override public Verdict check(Facts f) {
        if (shared != null) return decide(f);
        synchronized (this) {
            return decide(f);
        }
    }

    private Verdict decide(Facts f) {
        if (f.recipient() == null) return Verdict.CONTINUE;
        long now = clock.millis();
        String net = "net|" + network(f.client());
        long[] w = get(net);
        if (w != null && w[1] > now) return Verdict.CONTINUE;
        String key = network(f.client()) + "|" + (f.nullSender() || f.sender() == null ? "" : f.sender().key()) + "|" + f.recipient().key();
        long[] e = get(key);
        if (e == null || now - e[0] > settings.delay().plus(settings.retryWindow()).toMillis()) {
            put(key, now, 0);
            dirty = true;
            return defer(settings.delay().toSeconds());
        }
        long waited = now - e[0];
        if (waited < settings.delay().toMillis()) return defer((settings.delay().toMillis() - waited + 999) / 1000);
        // passed: this network is trusted for a while (auto-whitelist)
        put(net, now, now + settings.whitelistFor().toMillis());
        remove(key);
        dirty = true;
        return Verdict.CONTINUE;
    }

    private Verdict defer(long seconds) {
        return new Verdict.Defer(name(), Reply.of(451, "4.7.1", "Greylisted, please try again in " + seconds + " seconds"));
    }

    /** /24 for IPv4, /64 for IPv6. */
    static String network(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + ".0/24";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i += 2) sb.append(String.format(Locale.ROOT, "%02x%02x:", b[i], b[i + 1]));
        return sb.append(":/64").toString();
    }

    /** Writes the state if it changed (temp file, rename); called every few seconds and at shutdown. */
    public void save() {
        List<String> lines;
        synchronized (this) {
            if (!dirty || file == null || shared != null) return;
            dirty = false;
            lines = new ArrayList<>(state.size());
            long now = clock.millis();
            for (var e : state.entrySet()) {
                boolean expired = e.getKey().startsWith("net|") ? e.getValue()[1] < now
                        : now - e.getValue()[0] > settings.delay().plus(settings.retryWindow()).toMillis();
                if (!expired) lines.add(e.getKey() + " " + e.getValue()[0] + " " + e.getValue()[1]);
            }
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, lines, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            log.warn("cannot save greylist state to {}: {}", file, e.toString());
            synchronized (this) {
                dirty = true;
            }
        }
    }
}
