package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.store.Database;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code postern db migrate|check}: the [cluster] database's schema. */
@Command(name = "db", description = "The cluster database: migrate (apply this release's schema migrations) or check")
final class DbCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "migrate or check") String action;
    @Option(names = "--config", description = "TOML configuration file", required = true) java.nio.file.Path config;

    @Override public Integer call() throws Exception {
        return Cli.withConfig(config, this::run);
    }

    private int run(Config c) throws Exception {
        if (!c.clustered()) {
            System.err.println("postern: " + config + " has no [cluster] section: there is no database to " + action);
            return 2;
        }
        try (Database db = Database.open(c.cluster(), 2)) {
            switch (action) {
                case "migrate" -> {
                    try {
                        db.checkSchema();
                        System.out.println("schema is current (version " + db.expectedVersion() + "); nothing to do");
                        return 0;
                    } catch (Database.SchemaMismatch e) {
                        if (e.getMessage().contains("newer than this Postern")) {
                            System.err.println("postern: " + e.getMessage());
                            return 1;
                        }
                    }
                    System.out.println("schema migrated to version " + db.migrate());
                    return 0;
                }
                case "check" -> {
                    try {
                        db.checkSchema();
                        System.out.println("schema version " + db.expectedVersion() + ": matches this Postern");
                        return 0;
                    } catch (Database.SchemaMismatch e) {
                        System.err.println("postern: " + e.getMessage());
                        return 1;
                    }
                }
                default -> {
                    System.err.println("postern: unknown db action " + action + " (migrate or check)");
                    return 2;
                }
            }
        } catch (RuntimeException e) {
            System.err.println("postern: database " + c.cluster().database() + ": " + Database.rootMessage(e));
            return 1;
        }
    }
}
