package dev.postern.admin;

import dev.postern.auth.PgAccounts;
import dev.postern.auth.UserStore;
import dev.postern.store.Database;
import dev.postern.config.Config;
import dev.postern.deliver.MailboxOwner;
import dev.postern.deliver.MaildirWriter;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.mail.Address;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code postern [serve|check-config|user ...]}. With no sub-command, serve on the embedded default. */
@Command(name = "postern", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Postern mail transfer agent",
        subcommands = {Cli.Serve.class, Cli.CheckConfig.class, Cli.User.class, QueueCommand.class, DkimCommand.class, DmarcCommand.class,
                DbCommand.class, ClusterCommand.class, DnsRecordsCommand.class, TlsRptCommand.class, Cli.BackupCommand.class, TraceCommand.class, Cli.ReloadCommand.class,
                Cli.RestoreCommand.class})
public final class Cli implements Callable<Integer> {

    /** "Postern 0.1.0 (commit 852d222, 2026-12-02)": the release and the commit the jar was built from. */
    public static final class Version implements picocli.CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {describe()}; }

        public static String describe() {
            java.util.Properties p = new java.util.Properties();
            try (var in = Cli.class.getResourceAsStream("/postern-version.properties")) {
                if (in != null) p.load(in);
            } catch (java.io.IOException ignored) {
                // described as unknown below
            }
            String version = known(p.getProperty("version"), "unknown version");
            String commit = known(p.getProperty("commit"), null);
            if (commit == null) return "Postern " + version + " (commit unknown: not built from a git checkout)";
            return "Postern " + version + " (commit " + commit + ", " + known(p.getProperty("date"), "?")
                    + ("true".equals(p.getProperty("dirty")) ? ", with uncommitted changes" : "") + ")";
        }

        private static String known(String v, String dflt) { return v == null || v.isBlank() || v.startsWith("${") ? dflt : v; }
    }

    @Override public Integer call() throws Exception {
        return new Serve().call();
    }

    static Config loadConfig(Path file, boolean probePorts) throws ConfigException {
        if (file == null) file = packagedConfig();
        return file == null ? ConfigLoader.embeddedDefault(probePorts) : ConfigLoader.load(file, probePorts);
    }

    /** The configuration a packaged install names in POSTERN_CONFIG (/usr/bin/postern sets it), or null. */
    static Path packagedConfig() {
        String env = System.getenv("POSTERN_CONFIG");
        return env == null || env.isBlank() ? null : Path.of(env);
    }

    /** What a command does once its configuration has loaded. */
    interface Configured {
        int run(Config c) throws Exception;
    }

    /** Loads --config (or the embedded default) and runs body, or prints every problem and returns 2. */
    static int withConfig(Path file, Configured body) throws Exception {
        Config c;
        try {
            c = loadConfig(file, false);
        } catch (ConfigException e) {
            return configErrors(e);
        }
        return body.run(c);
    }

    static int configErrors(ConfigException e) {
        System.err.println("postern: configuration errors:");
        for (String p : e.problems()) System.err.println("  " + p);
        return 2;
    }

    @Command(name = "serve", description = "Run the mail server (embedded default when --config is absent)")
    static final class Serve implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;
        @Option(names = "--allow-root", description = "run as root although a configuration file is given (not recommended)")
        boolean allowRoot;

        @Override public Integer call() throws Exception {
            Config c;
            try {
                c = loadConfig(config, true);
            } catch (ConfigException e) {
                return configErrors(e);
            }
            boolean embedded = config == null && packagedConfig() == null;
            if (RunAs.isRoot() && !allowRoot) {
                if (!embedded) {
                    System.err.println("postern: refusing to run as root: mail it writes would be root's, which Dovecot and an"
                            + " unprivileged Postern cannot use. Run it as its own user (contrib/postern.service, or"
                            + " runuser -u postern -- postern serve --config FILE), or pass --allow-root.");
                    return 2;
                }
                // the embedded default listens on loopback only; the README's first command works anywhere
                System.err.println("postern: warning: running as root; a configured server refuses to without --allow-root");
            }
            var dataDirProblem = RunAs.dataDirProblem(c.dataDir());
            if (dataDirProblem.isPresent()) {
                System.err.println("postern: " + dataDirProblem.get());
                return 2;
            }
            if (c.clustered()) Server.nameNodeInLogs(c.cluster().nodeName());
            Server server = Server.start(c, Clock.systemUTC());
            Path file = config != null ? config : packagedConfig();
            server.reloadsFrom(file == null ? null : file.toAbsolutePath());
            // SIGHUP reads the whole configuration again, as administrators expect of a daemon ("postern reload")
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> new Thread(server::reload, "reload").start());
            System.out.println("Postern is running" + (config == null ? " on its embedded default" : " with " + config));
            for (Config.Listener l : c.listeners()) {
                System.out.printf("  %-10s %s (%s)%n", l.name(), l.bind(), l.kind().name().toLowerCase());
            }
            System.out.println("  domains    " + String.join(", ", c.domains()));
            System.out.println("  data       " + c.dataDir());
            System.out.println("  mailboxes  " + c.mailboxesDir());
            System.out.println("  console    " + (c.admin().loopback() ? "http" : "https") + "://" + c.admin().host() + ":" + server.admin().port()
                    + "/console/ (log in with the token in " + c.adminTokenFile() + ")");
            System.out.flush();
            CountDownLatch done = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                done.countDown();
            }, "shutdown"));
            done.await();
            return 0;
        }
    }

    @Command(name = "reload", description = "Make the running server read its configuration again (as SIGHUP)")
    static final class ReloadCommand implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;

        @Override public Integer call() throws Exception {
            return withConfig(config, c -> {
                var r = AdminClient.call(c, "POST", "/reload");
                if (r == null) return 1;
                System.out.println("reloaded; applied: " + String.join(", ", iterable(r.path("applied"))));
                if (!r.path("need_restart").isEmpty())
                    System.out.println("changed, but kept until a restart: " + String.join(", ", iterable(r.path("need_restart"))));
                for (var p : r.path("problems")) System.err.println("postern: " + p.asText());
                return r.path("problems").isEmpty() ? 0 : 1;
            });
        }

        private static java.util.List<String> iterable(com.fasterxml.jackson.databind.JsonNode a) {
            java.util.List<String> out = new java.util.ArrayList<>();
            a.forEach(n -> out.add(n.asText()));
            return out;
        }
    }

    @Command(name = "backup", description = "Write a consistent backup of a running server's queue and state to a file")
    static final class BackupCommand implements Callable<Integer> {
        @Option(names = "--to", required = true, description = "the backup file (a zip)") Path to;
        @Option(names = "--config", description = "TOML configuration file") Path config;

        @Override public Integer call() throws Exception {
            return withConfig(config, c -> {
                var r = AdminClient.call(c, "POST", "/backup?to=" + java.net.URLEncoder.encode(to.toAbsolutePath().toString(),
                        java.nio.charset.StandardCharsets.UTF_8));
                if (r == null) return 1;
                System.out.println("backup written to " + r.path("result").asText() + " in " + r.path("millis").asLong() + " ms");
                return 0;
            });
        }
    }

    @Command(name = "restore", description = "Unpack a backup into the (empty) data directory of a configuration")
    static final class RestoreCommand implements Callable<Integer> {
        @picocli.CommandLine.Parameters(index = "0", description = "the backup file") Path file;
        @Option(names = "--config", description = "TOML configuration file") Path config;

        @Override public Integer call() throws Exception {
            return withConfig(config, c -> {
                try {
                    int n = Backup.restore(c, file);
                    System.out.println("restored " + n + " files into " + c.dataDir());
                    return 0;
                } catch (java.io.IOException e) {
                    System.err.println("postern: " + e.getMessage());
                    return 1;
                }
            });
        }
    }

    @Command(name = "check-config", description = "Validate a configuration file; exit 2 listing every problem")
    static final class CheckConfig implements Callable<Integer> {
        @Option(names = "--config", description = "TOML configuration file") Path config;

        @Override public Integer call() {
            try {
                Config c = loadConfig(config, true);
                System.out.println("configuration ok: " + c.listeners().size() + " listeners, domains " + c.domains());
                return 0;
            } catch (ConfigException e) {
                return configErrors(e);
            }
        }
    }

    @Command(name = "user", description = "Manage accounts",
            subcommands = {User.Add.class, User.Remove.class, User.ListUsers.class, User.Passwd.class})
    static final class User {

        abstract static class Base implements Callable<Integer> {
            @Option(names = "--config", description = "TOML configuration file") Path config;

            @Override public Integer call() throws Exception {
                return withConfig(config, c -> {
                    if (!c.clustered()) return run(c, new UserStore(c.usersFile()));
                    // a cluster's accounts are in its database: any node's change reaches every node
                    try (Database db = Database.open(c.cluster(), 2)) {
                        db.checkSchema();
                        return run(c, new UserStore(new PgAccounts(db)));
                    } catch (Database.SchemaMismatch e) {
                        System.err.println("postern: " + e.getMessage());
                        return 1;
                    }
                });
            }

            abstract int run(Config c, UserStore users) throws IOException;

            /** A running server re-reads the accounts before the command returns: the account works at once. */
            static int tellServer(Config c) throws IOException {
                try {
                    return AdminClient.tellIfRunning(c, "/users/reload") ? 0 : 1;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return 1;
                }
            }
        }

        abstract static class WithPassword extends Base {
            @Parameters(index = "0", description = "address, e.g. alice@example.test") String address;
            @Option(names = "--password-stdin", description = "read the password from standard input") boolean stdin;

            String readPassword() throws IOException {
                Console console = System.console();
                if (!stdin && console != null) {
                    char[] a = console.readPassword("Password: ");
                    char[] b = console.readPassword("Again: ");
                    if (a == null || !new String(a).equals(new String(b))) throw new IOException("passwords differ");
                    return new String(a);
                }
                String p = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                if (p == null || p.isEmpty()) throw new IOException("no password on standard input");
                return p;
            }

            String invalid(Config c) { return AccountsApi.invalid(c, address); }
        }

        @Command(name = "add", description = "Add an account")
        static final class Add extends WithPassword {
            @Override int run(Config c, UserStore users) throws IOException {
                String bad = invalid(c);
                if (bad != null) { System.err.println("postern: " + bad); return 2; }
                if (users.exists(address)) { System.err.println("postern: " + address + " already exists; use user passwd"); return 1; }
                users.put(address, readPassword());
                String key = AccountsApi.createMailbox(c, address);
                System.out.println("added " + key);
                return tellServer(c);
            }
        }

        @Command(name = "passwd", description = "Change an account's password")
        static final class Passwd extends WithPassword {
            @Override int run(Config c, UserStore users) throws IOException {
                if (!users.exists(address)) { System.err.println("postern: no such user " + address); return 1; }
                users.put(address, readPassword());
                System.out.println("password changed for " + address.toLowerCase());
                return tellServer(c);
            }
        }

        @Command(name = "remove", description = "Remove an account (its mailbox stays on disk)")
        static final class Remove extends Base {
            @Parameters(index = "0") String address;

            @Override int run(Config c, UserStore users) throws IOException {
                if (!users.remove(address)) { System.err.println("postern: no such user " + address); return 1; }
                System.out.println("removed " + address.toLowerCase());
                return tellServer(c);
            }
        }

        @Command(name = "list", description = "List accounts")
        static final class ListUsers extends Base {
            @Override int run(Config c, UserStore users) {
                users.list().forEach(System.out::println);
                return 0;
            }
        }
    }

    public static int run(String... args) {
        return new CommandLine(new Cli()).execute(args);
    }
}
