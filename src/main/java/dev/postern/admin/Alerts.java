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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    private Set<String> active = new LinkedHashSet<>();
    private Map<String, Long> values = Map.of();

    public Alerts(Config.Alerts settings, Queue queue, Path dataDir, Clock clock) {
        this.settings = settings;
        this.queue = queue;
        this.dataDir = dataDir;
        this.clock = clock;
    }

    /** Evaluates every alert now; returns the ones that hold, in words. */
    public synchronized List<String> check() {
        List<String> now = new ArrayList<>();
        Map<String, Long> v = new LinkedHashMap<>();
        List<QueuedMessage> messages = queue.list();
        v.put("postern_queue_oldest_seconds", 0L);
        Instant oldest = messages.stream().map(m -> m.envelope().arrival()).min(Instant::compareTo).orElse(null);
        if (oldest != null) v.put("postern_queue_oldest_seconds", Duration.between(oldest, clock.instant()).toSeconds());
        boolean big = messages.size() >= settings.queueSize();
        if (big) now.add("queue: " + messages.size() + " messages (alert at " + settings.queueSize() + ")");
        boolean old = oldest != null && Duration.between(oldest, clock.instant()).compareTo(settings.oldestMessage()) >= 0;
        if (old) now.add("queue: the oldest message has waited " + human(Duration.between(oldest, clock.instant())) + " (alert at "
                + human(settings.oldestMessage()) + ")");
        int deferring = 0;
        for (Map.Entry<String, int[]> e : byDestination(messages).entrySet()) {
            int waiting = e.getValue()[0], deferred = e.getValue()[1];
            if (waiting >= MIN_RECIPIENTS && deferred >= settings.deferralRatio() * waiting) {
                deferring++;
                now.add("deferrals: " + deferred + " of " + waiting + " recipients at " + e.getKey() + " deferred");
            }
        }
        long free = -1;
        try {
            free = Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            now.add("disk: cannot read the free space of " + dataDir + ": " + e.getMessage());
        }
        v.put("postern_disk_free_bytes", free);
        boolean full = free >= 0 && free < settings.minFreeDiskMb() * 1024 * 1024;
        if (full) now.add("disk: " + free / (1024 * 1024) + " MiB free for " + dataDir + " (alert below " + settings.minFreeDiskMb() + " MiB)");
        v.put("postern_alert_queue_size", big ? 1L : 0L);
        v.put("postern_alert_oldest_message", old ? 1L : 0L);
        v.put("postern_alert_deferring_destinations", (long) deferring);
        v.put("postern_alert_disk_free", full ? 1L : 0L);
        Set<String> kinds = new LinkedHashSet<>();
        for (String a : now) {
            String kind = a.substring(0, a.indexOf(':')) + (a.startsWith("deferrals") ? a.substring(a.lastIndexOf(" at ")) : "");
            kinds.add(kind);
            if (!active.contains(kind)) log.warn("alert: {}", a);
        }
        for (String k : active) if (!kinds.contains(k)) log.info("alert cleared: {}", k);
        active = kinds;
        values = Map.copyOf(v);
        return now;
    }

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
