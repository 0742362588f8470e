package dev.postern.admin;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What happened to each recent message, by queue id: every log line that starts with a queue id, as
 * Postfix administrators grep their maillog for one ("ID: client=…", "ID: from=<…>", "ID: to=<…>, relay=…,
 * status=deferred (…)", "ID: removed"). Kept in memory for the most recent {@value #MAX_MESSAGES} messages
 * since this server started, at most {@value #MAX_EVENTS} lines each; lines below the log level (INFO by
 * default) are not seen. Served by the admin API (GET /trace/ID) and "postern trace ID". Unsynchronized: every
 * thread that logs passes here, and only lines with an id need the map's lock (JFR: logback's synchronized
 * doAppend was where threads logging at once waited).
 */
final class TraceLog extends UnsynchronizedAppenderBase<ILoggingEvent> {
    static final int MAX_MESSAGES = 20_000;
    static final int MAX_EVENTS = 200;

    /** One line: when, level, which part of the server, and the text after the id. */
    record Event(Instant at, String level, String source, String text) {}

    private static TraceLog installed;

    private final Map<String, List<Event>> byId = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, List<Event>> eldest) { return size() > MAX_MESSAGES; }
    };

    /** The one trace of this process, attached to the "postern" loggers on first use (several servers share it). */
    static synchronized TraceLog get() {
        if (installed != null) return installed;
        installed = new TraceLog();
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext lc) {
            installed.setContext(lc);
            installed.setName("trace");
            installed.start();
            lc.getLogger("postern").addAppender(installed);
        }
        return installed;
    }

    @Override protected void append(ILoggingEvent e) {
        String msg = e.getFormattedMessage();
        int colon = msg == null ? -1 : msg.indexOf(": ");
        if (colon < 10 || colon > 24 || !isQueueId(msg, colon)) return;
        Event ev = new Event(Instant.ofEpochMilli(e.getTimeStamp()), e.getLevel().toString(),
                e.getLoggerName().startsWith("postern.") ? e.getLoggerName().substring(8) : e.getLoggerName(), msg.substring(colon + 2));
        String id = msg.substring(0, colon);
        synchronized (byId) {
            List<Event> events = byId.computeIfAbsent(id, k -> new ArrayList<>());
            if (events.size() < MAX_EVENTS) events.add(ev);
        }
    }

    /** Queue ids are letters and digits only (QueueId's 14, a cluster's alike); other first words are not ids. */
    private static boolean isQueueId(String s, int end) {
        boolean digit = false;
        for (int i = 0; i < end; i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') digit = true;
            else if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')) return false;
        }
        return digit;
    }

    /** The lines kept for a queue id, oldest first; empty when none. */
    List<Event> of(String id) {
        synchronized (byId) {
            List<Event> e = byId.get(id);
            return e == null ? List.of() : List.copyOf(e);
        }
    }
}
