package dev.postern.policy;

/**
 * Check state that every node of a cluster must share: greylist entries and rate-limit windows, so that a
 * client hopping between nodes is seen once. A single node keeps the same state in the checks' own bounded
 * maps instead. Every call may wait on the network, so the checks using it run off the event loop.
 */
public interface PolicyState {

    /** A greylist entry: {first seen, passed until} in epoch milliseconds, or null. */
    long[] greylistGet(String key);

    void greylistPut(String key, long firstSeen, long passedUntil);

    void greylistRemove(String key);

    /** Adds one event to key in the window (epoch minutes); returns the window's count including it. */
    long countInWindow(String key, long minute);

    /** Records a failed AUTH from address at now; returns the failures within the window, this one included. */
    long authFailure(String address, long now, long windowMillis);

    /** Addresses with at least limit failures within the window, with their latest failure time. */
    java.util.Map<String, Long> authFailuresAtLeast(int limit, long now, long windowMillis);

    /** Adds a DMARC report row (JSON) to a UTC day. */
    void dmarcRow(java.time.LocalDate day, String json);

    /** A day's DMARC report rows, from every node; empty when none. */
    java.util.List<String> dmarcRows(java.time.LocalDate day);

    /** True for the one node that may mail this day's reports; false for every later asker. */
    boolean claimDmarcDay(java.time.LocalDate day, String node);

    /** Gives the day back (its sending failed): a later try may claim it again. */
    void releaseDmarcDay(java.time.LocalDate day);
}
