package dev.postern.store;

import dev.postern.cluster.ClusterTest;
import dev.postern.config.Config;
import dev.postern.testing.TestPostgres;
import dev.postern.testing.TestServer;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A node checks the database's schema version at start: none or older → refused, saying to run db migrate
 * (which then upgrades it); newer (written by a later release) → refused, never touched.
 */
class SchemaVersionTest {
    @TempDir Path dir;

    Path config(String database) throws Exception {
        Path cfg = dir.resolve("node.toml");
        Files.writeString(cfg, """
                domains = ["example.test"]
                [cluster]
                database = "%s"
                user = "%s"
                node_name = "node1"
                """.formatted(database, TestPostgres.USER));
        return cfg;
    }

    TestServer.Builder node(String database) throws Exception {
        return TestServer.builder().cluster(TestPostgres.get().cluster(database, "node1"));
    }

    @Test void anOlderSchemaIsRefusedUntilDbMigrateUpgradesIt() throws Exception {
        String database = TestPostgres.get().newDatabase();
        assertThatThrownBy(() -> node(database).start()).hasMessageContaining("has no Postern schema; run: postern db migrate");

        // the schema as release 1 left it
        Flyway.configure().dataSource("jdbc:" + database, TestPostgres.USER, "").locations("classpath:db/postern")
                .table(Database.HISTORY_TABLE).target("1").load().migrate();
        assertThatThrownBy(() -> node(database).start())
                .hasMessageContaining("has schema version 1, older than this Postern's 3; run: postern db migrate --config FILE");
        ClusterTest.Run check = ClusterTest.cli("db", "check", "--config", config(database).toString());
        assertThat(check.code()).isEqualTo(1);
        assertThat(check.err()).contains("older than this Postern's 3");

        // a message queued by release 1 (only the row matters here)
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:" + database, TestPostgres.USER, "")) {
            c.createStatement().execute("INSERT INTO queue_message (id, envelope, size, arrival, received_by, next_attempt) "
                    + "VALUES ('old1', 'v1', 1, now(), 'node1', now())");
        }

        ClusterTest.Run migrate = ClusterTest.cli("db", "migrate", "--config", config(database).toString());
        assertThat(migrate.code()).as(migrate.err()).isZero();
        assertThat(migrate.out()).contains("schema migrated to version 3");
        // version 3 gave every message a priority class: one queued before it is relay mail
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:" + database, TestPostgres.USER, "");
             java.sql.ResultSet r = c.createStatement().executeQuery("SELECT priority FROM queue_message WHERE id = 'old1'")) {
            assertThat(r.next()).isTrue();
            assertThat(r.getString(1)).isEqualTo("relay");
            c.createStatement().execute("DELETE FROM queue_message WHERE id = 'old1'");
        }
        try (TestServer s = node(database).start()) {
            assertThat(s.server.queue().list()).isEmpty();
        }
        assertThat(ClusterTest.cli("db", "migrate", "--config", config(database).toString()).out()).contains("schema is current (version 3)");
    }

    @Test void aNewerSchemaIsRefusedAndLeftAlone() throws Exception {
        String database = TestPostgres.get().newDatabase();
        try (Database db = Database.open(TestPostgres.get().cluster(database, "x"), 2)) {
            db.migrate();
        }
        // what a later release's migration leaves behind
        try (Connection c = DriverManager.getConnection("jdbc:" + database, TestPostgres.USER, "")) {
            c.createStatement().execute("CREATE TABLE from_the_future (x int)");
            c.createStatement().execute("INSERT INTO " + Database.HISTORY_TABLE + " (installed_rank, version, description, type, script, "
                    + "checksum, installed_by, execution_time, success) VALUES (99, '99', 'future', 'SQL', 'V99__future.sql', 0, 'postern', 1, true)");
        }
        assertThatThrownBy(() -> node(database).start())
                .hasMessageContaining("has schema version 99, newer than this Postern's 3");
        ClusterTest.Run migrate = ClusterTest.cli("db", "migrate", "--config", config(database).toString());
        assertThat(migrate.code()).isEqualTo(1);
        assertThat(migrate.err()).contains("newer than this Postern's 3");
        try (Connection c = DriverManager.getConnection("jdbc:" + database, TestPostgres.USER, "")) {
            var r = c.createStatement().executeQuery("SELECT count(*) FROM " + Database.HISTORY_TABLE);
            r.next();
            assertThat(r.getInt(1)).as("nothing migrated or removed").isEqualTo(4); // versions 1 to 3, and the future one
        }
    }
}
