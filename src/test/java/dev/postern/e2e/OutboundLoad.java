package dev.postern.e2e;

import java.net.Socket;

/** Helpers for tests that start external receivers. */
final class OutboundLoad {
    private OutboundLoad() {}

    static void awaitListening(String host, int port) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket(host, port)) {
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError(host + ":" + port + " is not listening");
    }
}
