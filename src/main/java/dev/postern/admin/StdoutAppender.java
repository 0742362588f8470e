package dev.postern.admin;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;

/**
 * logback.xml's appender: standard output, written in batches by one thread ({@link BatchingOutputStream})
 * instead of one write(2) per line under a lock shared by every thread that logs.
 */
public final class StdoutAppender extends OutputStreamAppender<ILoggingEvent> {
    @Override public void start() {
        // stopping the appender (a logback reset) must not close the process's standard output with it
        OutputStream stdout = new FileOutputStream(FileDescriptor.out) {
            @Override public void close() {}
        };
        setOutputStream(new BatchingOutputStream(stdout, "log-writer"));
        super.start();
    }

    /** The log_file setting's appender: the same batching in front of the file. */
    static final class ToFile extends ch.qos.logback.core.FileAppender<ILoggingEvent> {
        @Override public void setOutputStream(OutputStream out) {
            super.setOutputStream(new BatchingOutputStream(out, "log-file-writer"));
        }
    }
}
