package dev.postern.queue;

import java.nio.file.Path;
import java.time.Clock;

/** The spool contract against one file per message. */
class FileSpoolContractTest extends SpoolContractTest {
    @Override Spool create(Path dir) throws Exception { return new FileSpool(dir, Clock.systemUTC()); }
}
