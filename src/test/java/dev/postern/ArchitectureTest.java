package dev.postern;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dependencies follow the mail's path (ARCHITECTURE.md): this reads every main source file's imports
 * and fails when a package reaches one it must not.
 */
class ArchitectureTest {
    /** For each package, the project packages it may import. */
    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("mail", Set.of()),
            Map.entry("smtp", Set.of("mail")),
            Map.entry("auth", Set.of("mail", "smtp", "store")),
            Map.entry("message", Set.of("mail")),
            Map.entry("route", Set.of("mail")),
            Map.entry("tls", Set.of("mail", "route", "store")),
            Map.entry("deliver", Set.of("mail", "smtp", "route", "tls")),
            Map.entry("store", Set.of("mail", "config")),
            Map.entry("queue", Set.of("mail", "route", "deliver", "store")),
            Map.entry("policy", Set.of("mail", "route", "store")),
            Map.entry("config", Set.of("mail")),
            Map.entry("filter", Set.of("mail")),
            Map.entry("receive", Set.of("mail", "smtp", "auth", "message", "policy", "queue", "route", "config", "tls", "filter", "store")),
            Map.entry("admin", Set.of("mail", "smtp", "auth", "message", "policy", "queue", "route", "deliver", "config", "receive", "store", "tls",
                    "filter")));

    static final Pattern IMPORT = Pattern.compile("^import (?:static )?dev\\.postern\\.(\\w+)\\.", Pattern.MULTILINE);

    @Test void packagesOnlyDependForwardAlongTheMailPath() throws Exception {
        Path root = Path.of("src/main/java/dev/postern");
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = root.relativize(f);
                if (rel.getNameCount() < 2) continue; // the Postern main class wires everything
                String pkg = rel.getName(0).toString();
                assertThat(ALLOWED).as("package " + pkg + " has no rule").containsKey(pkg);
                Matcher m = IMPORT.matcher(Files.readString(f));
                while (m.find()) {
                    String target = m.group(1);
                    if (!target.equals(pkg) && !ALLOWED.get(pkg).contains(target)) violations.add(rel + " imports " + target);
                }
            }
        }
        assertThat(violations).isEmpty();
    }

    @Test void everyPackageHasARoleCard() throws Exception {
        for (String pkg : ALLOWED.keySet()) {
            assertThat(Path.of("src/main/java/dev/postern", pkg, "package-info.java")).exists();
        }
    }
}
