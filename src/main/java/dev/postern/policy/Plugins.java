package dev.postern.policy;

import dev.postern.mail.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The {@link CheckPlugin}s found in the jars of one directory, by the check names they offer. */
public final class Plugins {
    private static final Logger log = LoggerFactory.getLogger("postern.policy");

    private final Map<String, CheckPlugin> byName;
    private final Map<String, Map<String, String>> settings;

    private Plugins(Map<String, CheckPlugin> byName, Map<String, Map<String, String>> settings) {
        this.byName = byName;
        this.settings = settings;
    }

    public static final Plugins NONE = new Plugins(Map.of(), Map.of());

    /**
     * Loads every jar in dir (in name order) in one class loader below Postern's, and the CheckPlugins they
     * declare. A name offered twice, or offered by a built-in check, is refused.
     */
    public static Plugins load(Path dir, Map<String, Map<String, String>> settings, java.util.Set<String> builtIn) throws IOException {
        List<URL> jars = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) jars.add(p.toUri().toURL());
        }
        URLClassLoader loader = new URLClassLoader(jars.toArray(URL[]::new), CheckPlugin.class.getClassLoader());
        Map<String, CheckPlugin> byName = new TreeMap<>();
        try {
            for (CheckPlugin p : ServiceLoader.load(CheckPlugin.class, loader)) {
                for (String n : p.names()) {
                    if (builtIn.contains(n)) throw new IOException("plugin " + p.getClass().getName() + " offers \"" + n + "\", a built-in check's name");
                    CheckPlugin before = byName.putIfAbsent(n, p);
                    if (before != null) {
                        throw new IOException("check \"" + n + "\" is offered by both " + before.getClass().getName() + " and " + p.getClass().getName());
                    }
                }
                log.info("plugin {} offers {}", p.getClass().getName(), p.names());
            }
        } catch (java.util.ServiceConfigurationError e) {
            throw new IOException("cannot load the plugins in " + dir + ": " + e.getMessage(), e);
        }
        return new Plugins(Map.copyOf(byName), settings);
    }

    public java.util.Set<String> names() { return byName.keySet(); }

    /** Why a name is no check at all: not built in, and no plugin here offers it. */
    public String unknown(String name) {
        return "unknown check \"" + name + "\": not built in, and no plugin offers it" + (byName.isEmpty() ? "" : " (plugins offer " + names() + ")");
    }

    /** The named plugin check, wrapped to run off the event loop and to fail safe; null when no plugin offers it. */
    Check create(String name) {
        CheckPlugin p = byName.get(name);
        if (p == null) return null;
        Check c = p.create(name, settings.getOrDefault(name, Map.of()));
        if (c == null) throw new IllegalArgumentException("plugin " + p.getClass().getName() + " made no check for \"" + name + "\"");
        return new Guarded(name, c);
    }

    /** A plugin's check: always on the check threads; an exception or a null verdict is a temporary failure. */
    private record Guarded(String name, Check delegate) implements Check {
        @Override public Verdict check(Facts facts) {
            try {
                Verdict v = delegate.check(facts);
                if (v != null) return v;
                log.warn("check {} returned no verdict", name);
            } catch (RuntimeException e) {
                log.warn("check {} failed: {}", name, e.toString(), e);
            }
            return new Verdict.Defer(name, Reply.of(451, "4.3.0", "Temporary failure in policy checks"));
        }

        @Override public boolean blocking() { return true; }

        @Override public boolean waitsOnlyForDns() { return false; }
    }
}
