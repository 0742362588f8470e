package dev.postern.queue;

import java.nio.file.Path;
import java.time.Clock;

/** The spool contract against the group-commit log (small segments, so messages span several). */
class LogSpoolContractTest extends SpoolContractTest {
    @Override Spool create(Path dir) throws Exception { return new LogSpool(dir, Clock.systemUTC(), 1 << 20); }
}
