package dev.postern.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * A JVM of its own on the tests' class path, run by the same java: a server to kill with SIGKILL, a main whose
 * exit must flush its output. {@link #SERVER_LOGGING} makes it log as the jar does (logback.xml, not the tests'
 * logback-test.xml).
 */
public final class TestJvm {
    public static final String SERVER_LOGGING = "-Dlogback.configurationFile=logback.xml";

    private TestJvm() { }

    /** java OPTIONS -cp (the tests' class path) MAIN ARGS; the caller redirects and starts it. */
    public static ProcessBuilder java(List<String> options, String main, String... args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(options);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main);
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /** "postern serve --allow-root --config CONFIG" in its own JVM, logging as the jar does. */
    public static ProcessBuilder server(java.nio.file.Path config, String... options) {
        List<String> o = new ArrayList<>(List.of(options));
        o.add(SERVER_LOGGING);
        return java(o, "dev.postern.Postern", "serve", "--allow-root", "--config", config.toString());
    }
}
