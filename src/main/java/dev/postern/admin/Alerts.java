package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.queue.Queue;
import dev.postern.queue.QueuedMessage;
import dev.postern.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * [alerts]: what an administrator must hear about before users do — a queue that grows, a message that
 * has waited too long, a destination that defers most of what is sent to it, a disk running out. Checked
 * every minute: an alert is logged (WARN) when it starts and once more (INFO) when it clears, and each
 * kind is a 0/1 metric beside the measured values.
 */
public final class Alerts {
    private static final Logger log = LoggerFactory.getLogger("postern.alerts");
    /** A destination's deferral ratio counts only with at least this many recipients waiting for it. */
    static final int MIN_RECIPIENTS = 10;

    private final Config.Alerts settings;
    private final Queue queue;
    private final Path dataDir;
    private final Clock clock;
    private LinkedHashSet<String> active = new LinkedHashSet<>();
    private List<String> current = List.of();
    private Map<String, Long> values = Map.of();

    public Alerts(Config.Alerts settings, Queue queue, Path dataDir, Clock clock) {
        this.settings = settings;
        this.queue = queue;
        this.dataDir = dataDir;
        this.clock = clock;
    }

    /** Evaluates every alert now; returns the ones that hold, in words. */
    public synchronized List<String> check() {
        Map<String, String> now = new LinkedHashMap<>(); // kind → words; a kind is logged when it starts and when it clears
        Map<String, Long> v = new LinkedHashMap<>();
        List<QueuedMessage> messages = queue.list();
        Instant oldest = messages.stream().map(m -> m.envelope().arrival()).min(Instant::compareTo).orElse(null);
        Duration waited = oldest == null ? Duration.ZERO : Duration.between(oldest, clock.instant());
        v.put("postern_queue_oldest_seconds", waited.toSeconds());
        if (messages.size() >= settings.queueSize()) {
            now.put("queue_size", "queue: " + messages.size() + " messages (alert at " + settings.queueSize() + ")");
        }
        if (oldest != null && waited.compareTo(settings.oldestMessage()) >= 0) {
            now.put("oldest_message", "queue: the oldest message has waited " + human(waited) + " (alert at " + human(settings.oldestMessage()) + ")");
        }
        int deferring = 0;
        for (Map.Entry<String, int[]> e : byDestination(messages).entrySet()) {
            int waiting = e.getValue()[0], deferred = e.getValue()[1];
            if (waiting >= MIN_RECIPIENTS && deferred >= settings.deferralRatio() * waiting) {
                deferring++;
                now.put("deferrals " + e.getKey(), "deferrals: " + deferred + " of " + waiting + " recipients at " + e.getKey() + " deferred");
            }
        }
        long free = -1;
        try {
            free = Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            now.put("disk", "disk: cannot read the free space of " + dataDir + ": " + e.getMessage());
        }
        v.put("postern_disk_free_bytes", free);
        if (free >= 0 && free < settings.minFreeDiskMb() * 1024 * 1024) {
            now.put("disk", "disk: " + free / (1024 * 1024) + " MiB free for " + dataDir + " (alert below " + settings.minFreeDiskMb() + " MiB)");
        }
        v.put("postern_alert_queue_size", now.containsKey("queue_size") ? 1L : 0L);
        v.put("postern_alert_oldest_message", now.containsKey("oldest_message") ? 1L : 0L);
        v.put("postern_alert_deferring_destinations", (long) deferring);
        v.put("postern_alert_disk_free", free >= 0 && now.containsKey("disk") ? 1L : 0L);
        now.forEach((kind, words) -> {
            if (!active.contains(kind)) log.warn("alert: {}", words);
        });
        for (String k : active) if (!now.containsKey(k)) log.info("alert cleared: {}", k);
        active = new LinkedHashSet<>(now.keySet());
        values = Map.copyOf(v);
        current = List.copyOf(now.values());
        return current;
    }

    /** The alerts that held at the last check (each minute), in words; for the console's banner and the API. */
    public synchronized List<String> current() { return current; }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s < 120 ? s + " s" : s < 7200 ? s / 60 + " min" : s < 172_800 ? s / 3600 + " h" : s / 86_400 + " d";
    }

    /** The last check's gauges, for the metrics endpoint. */
    public synchronized Map<String, Long> stats() { return values; }

    /** Per recipient domain: recipients still waiting, and how many of them have been deferred at least once. */
    private static Map<String, int[]> byDestination(List<QueuedMessage> messages) {
        Map<String, int[]> out = new HashMap<>();
        for (QueuedMessage m : messages) {
            for (RecipientState r : m.recipients()) {
                if (r.isFinal()) continue;
                int[] c = out.computeIfAbsent(r.recipient().address().domain(), k -> new int[2]);
                c[0]++;
                if (r.attempts() > 0) c[1]++;
            }
        }
        return out;
    }
}
