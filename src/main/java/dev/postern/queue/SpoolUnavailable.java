package dev.postern.queue;

import java.io.IOException;

/**
 * The queue's store cannot be reached (the cluster database is down): an attempt that meets this is not an
 * attempt. It is abandoned unrecorded and made again once the store answers, instead of being deferred with
 * a backoff as if the destination had failed.
 */
public final class SpoolUnavailable extends IOException {
    public SpoolUnavailable(String message, Throwable cause) { super(message, cause); }

    /** Carries it out of a delivery attempt. */
    static final class Abandoned extends RuntimeException {
        Abandoned(SpoolUnavailable cause) { super(cause.getMessage(), cause); }
    }
}
