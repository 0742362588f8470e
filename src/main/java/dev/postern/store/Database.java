package dev.postern.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.postern.config.Config;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.MigrationState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

/**
 * The [cluster] database: a pool of connections and the schema's version. Every statement that must survive
 * a crash runs in a transaction whose COMMIT returns only once durable, which holds while the server keeps
 * {@code synchronous_commit} on (its default; the README says so): a 250 is sent only after that COMMIT.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("postern.store");
    static final String HISTORY_TABLE = "postern_schema_history";

    private final HikariDataSource pool;
    private final Config.Cluster cluster;

    private Database(HikariDataSource pool, Config.Cluster cluster) {
        this.pool = pool;
        this.cluster = cluster;
    }

    /** Opens the pool; connects lazily, so a database that is down at start is reported by {@link #checkSchema}. */
    public static Database open(Config.Cluster c, int maxConnections) throws IOException {
        HikariConfig h = new HikariConfig();
        h.setJdbcUrl(c.jdbcUrl());
        h.setUsername(c.user());
        if (c.passwordFile() != null) h.setPassword(Files.readString(c.passwordFile()).strip());
        h.setMaximumPoolSize(maxConnections);
        h.setMinimumIdle(2);
        h.setPoolName("postern-db");
        h.setConnectionTimeout(5_000);
        h.setValidationTimeout(2_000);
        h.setInitializationFailTimeout(-1); // start the pool even when the database is down; statements fail until it returns
        h.setAutoCommit(true);
        h.addDataSourceProperty("ApplicationName", "postern " + c.nodeName());
        h.addDataSourceProperty("tcpKeepAlive", "true");
        h.addDataSourceProperty("connectTimeout", "5");
        h.addDataSourceProperty("socketTimeout", "60");
        h.addDataSourceProperty("reWriteBatchedInserts", "true");
        return new Database(new HikariDataSource(h), c);
    }

    public Connection connection() throws SQLException { return pool.getConnection(); }

    public Config.Cluster cluster() { return cluster; }

    public String node() { return cluster.nodeName(); }

    private Flyway flyway() {
        return Flyway.configure(Database.class.getClassLoader()).dataSource(pool).locations("classpath:db/postern")
                .table(HISTORY_TABLE).baselineOnMigrate(false).validateOnMigrate(true).load();
    }

    /** Applies every migration this code knows that the database lacks; returns the version reached. */
    public String migrate() {
        var result = flyway().migrate();
        log.info("database schema migrated: {} migration(s) applied, now at version {}", result.migrationsExecuted,
                result.targetSchemaVersion == null ? result.initialSchemaVersion : result.targetSchemaVersion);
        return String.valueOf(flyway().info().current().getVersion());
    }

    /** The schema version this code expects (the newest migration it ships). */
    public String expectedVersion() {
        return String.valueOf(Arrays.stream(flyway().info().all()).filter(i -> i.getState().isResolved())
                .map(MigrationInfo::getVersion).max(Comparable::compareTo).orElseThrow());
    }

    /**
     * Refuses, with what to do, a schema this code cannot use: none yet or older (run db migrate), or newer
     * (written by a newer Postern, which this one must not touch: it would not know its records).
     */
    public void checkSchema() throws SchemaMismatch {
        MigrationInfoService info;
        try {
            info = flyway().info();
        } catch (RuntimeException e) {
            throw new SchemaMismatch("cannot read the schema version of " + cluster.database() + ": " + rootMessage(e));
        }
        MigrationInfo current = info.current();
        List<MigrationInfo> future = Arrays.stream(info.all())
                .filter(i -> i.getState() == MigrationState.FUTURE_SUCCESS || i.getState() == MigrationState.FUTURE_FAILED).toList();
        String expected = expectedVersion();
        if (!future.isEmpty()) {
            throw new SchemaMismatch("the database " + cluster.database() + " has schema version " + current.getVersion()
                    + ", newer than this Postern's " + expected + " (written by a newer release); run that release, "
                    + "or restore a backup taken before it migrated the database");
        }
        if (current == null) {
            throw new SchemaMismatch("the database " + cluster.database() + " has no Postern schema; run: postern db migrate --config FILE");
        }
        if (info.pending().length > 0) {
            throw new SchemaMismatch("the database " + cluster.database() + " has schema version " + current.getVersion()
                    + ", older than this Postern's " + expected + "; run: postern db migrate --config FILE");
        }
        for (MigrationInfo i : info.all()) {
            if (i.getState().isFailed()) {
                throw new SchemaMismatch("migration " + i.getVersion() + " of " + cluster.database() + " failed earlier; "
                        + "repair it, then run: postern db migrate --config FILE");
            }
        }
    }

    public static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** The database's schema is not the one this code was built for. */
    public static final class SchemaMismatch extends Exception {
        public SchemaMismatch(String message) { super(message); }
    }

    @Override public void close() { pool.close(); }
}
