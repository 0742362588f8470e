package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One configuration key, declared once: its table, name, type, default and meaning. Loading, the error
 * messages, the unknown-key check and the README's key reference all come from the declaration
 * ({@link Keys}); a key is added by adding its line there.
 *
 * @param table       "" for the top level, "limits", or a template like "queue.classes.NAME"
 * @param defaultText the default as the reference shows it ("100", "\"5m\""), or an example with its
 *                    default in the documentation when the default is not a constant
 */
public record Key<T>(String table, String name, Type<T> type, T defaultValue, String defaultText, String doc) {

    public String path() { return table.isEmpty() ? name : table + "." + name; }

    /** How a key's value is read from TOML, and what the error says it expected. */
    public interface Type<T> {
        /** The value, or null when it is not one (the loader then says "expected " + expected()). */
        T read(JsonNode v);

        String expected();
    }

    public static final Type<Long> POSITIVE = simple("a positive integer",
            v -> v.isIntegralNumber() && v.canConvertToLong() && v.asLong() > 0 ? v.asLong() : null);
    public static final Type<Integer> POSITIVE_INT = simple("a positive integer",
            v -> v.isIntegralNumber() && v.canConvertToInt() && v.asInt() > 0 ? v.asInt() : null);
    public static final Type<Duration> DURATION = simple("a duration like \"300s\", \"5m\" or a number of seconds", v -> {
        Duration d = ConfigLoader.parseDuration(v.isIntegralNumber() || v.isTextual() ? v.asText() : "");
        return d == null || d.isZero() ? null : d;
    });
    /** A pause of 0 to 30 seconds (postscreen's pregreet wait). */
    public static final Type<Duration> PAUSE = simple("a duration up to 30s, e.g. \"3s\"", v -> {
        Duration d = ConfigLoader.parseDuration(v.isIntegralNumber() || v.isTextual() ? v.asText() : "");
        return d == null || d.compareTo(Duration.ofSeconds(30)) > 0 ? null : d;
    });
    public static final Type<String> STRING = simple("a string", v -> v.isTextual() ? v.asText() : null);
    /** A file or directory; relative to the configuration file's directory (ConfigLoader resolves it). */
    public static final Type<String> PATH = simple("a string (a path)", v -> v.isTextual() ? v.asText() : null);
    public static final Type<Boolean> BOOLEAN = simple("true or false", v -> v.isBoolean() ? v.asBoolean() : null);
    public static final Type<Double> RATIO = simple("a number above 0 and at most 1",
            v -> v.isNumber() && v.asDouble() > 0 && v.asDouble() <= 1 ? v.asDouble() : null);
    public static final Type<Integer> PERCENT = simple("a percentage from 0 to 100",
            v -> v.isIntegralNumber() && v.asInt() >= 0 && v.asInt() <= 100 ? v.asInt() : null);
    public static final Type<List<String>> STRINGS = simple("a list of strings", v -> {
        if (!v.isArray()) return null;
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) return null;
            out.add(e.asText());
        }
        return List.copyOf(out);
    });

    /** One of fixed words, given in lower case ("log", "files"). */
    public static Type<String> oneOf(String... allowed) {
        return simple("one of \"" + String.join("\", \"", allowed) + "\"",
                v -> v.isTextual() && List.of(allowed).contains(v.asText().toLowerCase(Locale.ROOT)) ? v.asText().toLowerCase(Locale.ROOT) : null);
    }

    /** A table or a structure read by its own code (listeners, aliases, ...): declared here for its name and meaning. */
    public static final Type<JsonNode> TABLE = simple("a table", v -> v.isObject() ? v : null);
    /** An array of tables ([[tls.certificates]]). */
    public static final Type<JsonNode> TABLES = simple("[[tables]]", v -> v.isArray() ? v : null);

    private static <T> Type<T> simple(String expected, java.util.function.Function<JsonNode, T> read) {
        return new Type<>() {
            @Override public T read(JsonNode v) { return read.apply(v); }

            @Override public String expected() { return expected; }
        };
    }

    // ---- declaring ----

    public static <T> Key<T> key(String table, String name, Type<T> type, T dflt, String defaultText, String doc) {
        return new Key<>(table, name, type, dflt, defaultText, doc);
    }
}
