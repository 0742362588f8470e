package dev.postern.policy;

import dev.postern.admin.Server;
import dev.postern.config.Config;
import dev.postern.config.ConfigException;
import dev.postern.config.ConfigLoader;
import dev.postern.testing.SmtpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java check API: the example plugin in examples/check-plugin is compiled against Postern, put in a jar
 * in a plugins directory, loaded by a server configured as an administrator would, and refuses what it should.
 */
class CheckPluginTest {

    /** Compiles examples/check-plugin into plugins/example.jar, with its ServiceLoader file. */
    static Path buildExample(Path dir) throws Exception {
        Path example = Path.of("examples/check-plugin");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        List<String> args = new ArrayList<>(List.of("--release", "17", "-cp", System.getProperty("java.class.path"), "-d", classes.toString()));
        try (var s = Files.walk(example.resolve("src"))) {
            s.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertThat(ToolProvider.getSystemJavaCompiler().run(null, err, err, args.toArray(String[]::new))).as(err.toString()).isZero();
        Path jar = Files.createDirectories(dir.resolve("plugins")).resolve("example.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            add(out, "META-INF/services/dev.postern.policy.CheckPlugin", example.resolve("META-INF/services/dev.postern.policy.CheckPlugin"));
            try (var s = Files.walk(classes)) {
                for (Path p : s.filter(Files::isRegularFile).toList()) add(out, classes.relativize(p).toString().replace('\\', '/'), p);
            }
        }
        return jar.getParent();
    }

    private static int freePort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void add(JarOutputStream out, String name, Path file) throws Exception {
        out.putNextEntry(new JarEntry(name));
        Files.copy(file, (OutputStream) out);
        out.closeEntry();
    }

    @Test void theExamplePluginLoadsFromItsJarAndRefusesListedSenders(@TempDir Path dir) throws Exception {
        Path plugins = buildExample(dir);
        Path conf = Files.writeString(dir.resolve("postern.toml"), """
                hostname = "mx.example.test"
                data_dir = "%s"
                domains = ["example.test"]
                [listeners.smtp]
                bind = "127.0.0.1:%d"
                kind = "smtp"
                [admin]
                bind = "127.0.0.1:%d"
                [policy]
                mail = ["example_sender_blocklist"]
                [plugins]
                dir = "%s"
                [plugins.example_sender_blocklist]
                domains = "spam.example, junk.example"
                text = "we do not take mail from there"
                """.formatted(dir.resolve("data"), freePort(), freePort(), plugins));
        Config c = ConfigLoader.load(conf, false);
        try (Server s = Server.start(c, Clock.systemUTC());
             SmtpClient client = SmtpClient.ehlo(s.smtp().boundPort("smtp"))) {
            assertThat(client.command("MAIL FROM:<bot@SPAM.example>", "550"))
                    .isEqualToIgnoringCase("550 5.7.1 <bot@spam.example>: we do not take mail from there");
            client.command("MAIL FROM:<alice@friends.example>", "250");
        }
        // a name no built-in check and no plugin offers stops the server at start, saying so
        Path wrong = Files.writeString(dir.resolve("wrong.toml"), Files.readString(conf).replace("[\"example_sender_blocklist\"]", "[\"example_typo\"]"));
        Config bad = ConfigLoader.load(wrong, false);
        assertThatThrownBy(() -> Server.start(bad, Clock.systemUTC()).close()).hasStackTraceContaining("unknown check \"example_typo\"")
                .hasStackTraceContaining("plugins offer [example_sender_blocklist]");
    }

    @Test void withoutPluginsAnUnknownNameIsAConfigurationError(@TempDir Path dir) throws Exception {
        Path conf = Files.writeString(dir.resolve("p.toml"), "[policy]\nmail = [\"example_sender_blocklist\"]\n");
        assertThatThrownBy(() -> ConfigLoader.load(conf, false)).isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).anyMatch(p -> p.contains("unknown check \"example_sender_blocklist\"")));
    }
}
