package dev.postern.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's key reference is what the declarations say (Keys.reference), table by table; and every
 * declared key is read: a key that loads with a wrong type is named with its line.
 */
class KeysReferenceTest {
    @Test void theReadmeShowsEveryDeclaredTableAsDeclared() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        for (Keys.Table t : Keys.TABLES) {
            assertThat(readme).as("README reference of [" + t.shownAs() + "]; generated:\n" + Keys.reference(t)).contains(Keys.reference(t));
        }
    }

    @Test void keysAreDeclaredOnceEach() {
        Set<String> seen = new HashSet<>();
        for (Keys.Table t : Keys.TABLES) {
            for (Key<?> k : t.all()) {
                assertThat(k.table()).isEqualTo(t.name());
                assertThat(seen.add(k.path())).as(k.path() + " declared twice").isTrue();
            }
        }
    }

    @Test void everyDeclaredScalarKeyRefusesAWrongTypeByName(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        for (Keys.Table t : Keys.TABLES) {
            for (Key<?> k : t.all()) {
                if (k.type() == Key.TABLE) continue;
                String table = t.shownAs();
                Path f = dir.resolve("postern.toml");
                boolean top = table.isEmpty();
                String header = t.arrayOfTables() ? "[[" + table + "]]\n" : "[" + table + "]\n";
                Files.writeString(f, (top ? "" : header) + k.name() + " = { not = \"this\" }\n");
                ConfigException e = org.assertj.core.api.Assertions.catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f, false));
                assertThat(e).as(k.path() + " refused").isNotNull();
                String where = "postern.toml:" + (top ? 1 : 2) + ": " + (top ? "" : table + ".") + k.name() + ": expected";
                assertThat(e.problems()).as(k.path()).anyMatch(p -> p.contains(where));
            }
        }
    }
}
