package dev.postern.config;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps each dotted key path of a TOML file to the line that defines it. The TOML parser we use does not
 * keep positions, so this small scanner reads the lines itself: table headers and "key =" lines,
 * skipping the inside of multi-line arrays.
 */
final class KeyLines {
    private final Map<String, Integer> lines = new HashMap<>();

    KeyLines(List<String> text) {
        String table = "";
        int depth = 0;
        for (int i = 0; i < text.size(); i++) {
            String line = text.get(i).strip();
            if (depth == 0 && line.startsWith("[")) {
                // [table] or [[array of tables]]: keys below belong to it (an array's keys by their first element)
                boolean array = line.startsWith("[[");
                int end = line.indexOf(array ? "]]" : "]");
                if (end > 0) {
                    table = unquotePath(line.substring(array ? 2 : 1, end).strip());
                    lines.putIfAbsent(table, i + 1);
                }
                continue;
            }
            if (depth == 0) {
                int eq = keyEnd(line);
                if (eq > 0) {
                    String key = unquotePath(line.substring(0, eq).strip());
                    lines.putIfAbsent(table.isEmpty() ? key : table + "." + key, i + 1);
                    depth += bracketBalance(line.substring(eq + 1));
                }
            } else {
                depth += bracketBalance(line);
            }
            if (depth < 0) depth = 0;
        }
    }

    /** The line of a key, or of its nearest enclosing table; 0 when unknown. */
    int lineOf(String path) {
        String p = path;
        while (true) {
            Integer l = lines.get(p);
            if (l != null) return l;
            int dot = p.lastIndexOf('.');
            if (dot < 0) return 0;
            p = p.substring(0, dot);
        }
    }

    private static int keyEnd(String line) {
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') quoted = !quoted;
            else if (c == '#' && !quoted) return -1;
            else if (c == '=' && !quoted) return i;
        }
        return -1;
    }

    private static int bracketBalance(String s) {
        int d = 0;
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') quoted = !quoted;
            else if (!quoted && c == '#') break;
            else if (!quoted && c == '[') d++;
            else if (!quoted && c == ']') d--;
        }
        return d;
    }

    /** "a"."b.c" → a.b.c is ambiguous, but keys with dots are only quoted map keys (aliases), kept whole. */
    private static String unquotePath(String k) {
        StringBuilder sb = new StringBuilder();
        boolean quoted = false;
        for (char c : k.toCharArray()) {
            if (c == '"') quoted = !quoted;
            else if (c == ' ' && !quoted) continue;
            else sb.append(c);
        }
        return sb.toString();
    }
}
