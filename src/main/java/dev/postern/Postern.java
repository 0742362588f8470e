package dev.postern;

import dev.postern.admin.Cli;

/** Entry point: {@code java -jar postern.jar [serve|check-config|user] ...}. */
public final class Postern {
    private Postern() {}

    public static void main(String[] args) {
        int code = Cli.run(args);
        // serve returns only after shutdown; every other command is done here
        System.exit(code);
    }
}
