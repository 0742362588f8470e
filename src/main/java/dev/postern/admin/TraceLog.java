package dev.postern.admin;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * What happened to each recent message, by queue id: every log line that starts with a queue id, as
 * Postfix administrators grep their maillog for one ("ID: client=…", "ID: from=<…>", "ID: to=<…>, relay=…,
 * status=deferred (…)", "ID: removed"). Kept in memory, in a {@link TraceRing} of {@value #RING_BYTES} bytes
 * (about 16,000 messages of six lines; the oldest lines give way), since this server started; lines below
 * the log level (INFO by default) are not seen. Served by the admin API (GET /trace/ID) and "postern trace
 * ID", at most {@value #MAX_EVENTS} lines each. Unsynchronized: every thread that logs passes here, and only
 * lines with an id need the ring's lock (JFR: logback's synchronized doAppend was where threads logging at
 * once waited).
 */
final class TraceLog extends UnsynchronizedAppenderBase<ILoggingEvent> {
    static final int RING_BYTES = 16 << 20;
    static final int MAX_EVENTS = 200;

    private static TraceLog installed;

    private final TraceRing ring = new TraceRing(RING_BYTES);

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
        String logger = e.getLoggerName();
        ring.add(msg, colon, e.getTimeStamp(), e.getLevel().toString(), logger, logger.startsWith("postern.") ? 8 : 0);
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
    List<TraceRing.Event> of(String id) { return ring.of(id, MAX_EVENTS); }
}
