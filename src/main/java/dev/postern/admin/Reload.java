package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.config.Key;
import dev.postern.config.Keys;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a configuration reload ("postern reload", SIGHUP, POST /reload) changes, found by comparing the
 * file as it was read last with the file now, key by declared key ({@link Keys}). Keys in
 * {@link Keys#LIVE_ON_RELOAD} — listeners, limits, domains, aliases, relay settings, policy, the TLS
 * certificates, [transport], the relayhost, queue retry times and classes — are applied in place: new
 * sessions and new attempts get them, established sessions finish with what they began with, queued mail
 * stays. Every other changed key is named as needing a restart and keeps its running value.
 */
final class Reload {
    private Reload() {}

    /** refused: the new file has errors (problems), nothing changed; otherwise what changed, what waits for a restart. */
    record Result(boolean refused, List<String> problems, List<String> applied, List<String> needRestart) {
        static Result refused(List<String> problems) { return new Result(true, problems, List.of(), List.of()); }
    }

    /** Keys whose value differs between the two files and that a reload applies. */
    static List<String> applied(JsonNode before, JsonNode after) { return changed(before, after, true); }

    /** Keys whose value differs and that only a restart applies. */
    static List<String> needRestart(JsonNode before, JsonNode after) { return changed(before, after, false); }

    private static List<String> changed(JsonNode before, JsonNode after, boolean live) {
        List<String> out = new ArrayList<>();
        for (Keys.Table t : Keys.TABLES) {
            // a template's instances ([listeners.mx], [queue.classes.bulk]) and [[tls.certificates]] are compared
            // whole, as the key of the table that holds them
            if (t.name().contains("NAME") || t.arrayOfTables()) continue;
            JsonNode b = at(before, t.name()), a = at(after, t.name());
            for (Key<?> k : t.all()) {
                if (t.name().isEmpty() && k.type() == Key.TABLE && Keys.table(k.name()) != null) continue; // compared key by key
                JsonNode vb = b == null ? null : b.get(k.name()), va = a == null ? null : a.get(k.name());
                if (!Objects.equals(vb, va) && Keys.LIVE_ON_RELOAD.contains(k) == live) out.add(k.path());
            }
        }
        return out;
    }

    private static JsonNode at(JsonNode root, String table) {
        if (root == null) return null;
        if (table.isEmpty()) return root;
        JsonNode n = root;
        for (String part : table.split("\\.")) {
            n = n.get(part);
            if (n == null) return null;
        }
        return n;
    }
}
