package dev.postern.smtp;

import java.util.Locale;

/** A command line split into its verb (upper-cased) and the rest. RFC 5321 4.1.1: verbs are case-insensitive. */
public record CommandLine(String verb, String argument) {

    public static CommandLine parse(String line) {
        int sp = line.indexOf(' ');
        String verb = (sp < 0 ? line : line.substring(0, sp)).toUpperCase(Locale.ROOT);
        String arg = sp < 0 ? "" : line.substring(sp + 1);
        return new CommandLine(verb, arg);
    }

    public boolean hasArgument() { return !argument.isBlank(); }
}
