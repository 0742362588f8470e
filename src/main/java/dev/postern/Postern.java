package dev.postern;

import dev.postern.admin.Cli;

/** Entry point: {@code java -jar postern.jar [serve|check-config|user] ...}. */
public final class Postern {
    private Postern() {}

    public static void main(String[] args) {
        // Netty's leak detector records a stack trace for a sample of buffers: ~3 per message under load. The
        // tests run with it on (they do not start here); -Dio.netty.leakDetection.level=simple turns it back on
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        int code = Cli.run(args);
        // serve returns only after shutdown; every other command is done here
        System.exit(code);
    }
}
