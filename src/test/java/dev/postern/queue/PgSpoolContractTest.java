package dev.postern.queue;

import dev.postern.config.Config;
import dev.postern.store.Database;
import dev.postern.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** The spool contract against the PostgreSQL queue, on a private server. */
class PgSpoolContractTest extends SpoolContractTest {
    private Config.Cluster cluster;
    private final List<Database> databases = new ArrayList<>();

    @Override Spool create(Path dir) throws Exception {
        if (cluster == null) {
            cluster = TestPostgres.get().cluster(null, "node1");
            try (Database d = Database.open(cluster, 2)) {
                d.migrate();
            }
        }
        Database db = Database.open(cluster, 40);
        databases.add(db);
        return new PgQueueStore(db, Clock.systemUTC());
    }

    @AfterEach void closeDatabases() {
        databases.forEach(Database::close);
    }
}
