package dev.postern.receive;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * Runs tasks one at a time, in submission order: a session's disk work stays ordered. A task runs on the
 * caller's thread when nothing of the session's is queued and the store says its writes will not wait
 * (the group-commit log hands them to its writer thread); otherwise on the shared pool.
 */
final class SerialExecutor implements Executor {
    private final Executor pool;
    private final BooleanSupplier mayBlock;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;

    SerialExecutor(Executor pool, BooleanSupplier mayBlock) {
        this.pool = pool;
        this.mayBlock = mayBlock;
    }

    @Override public void execute(Runnable task) {
        synchronized (this) {
            if (running || !tasks.isEmpty() || mayBlock.getAsBoolean()) {
                tasks.add(task);
                if (!running) {
                    running = true;
                    pool.execute(this::drain);
                }
                return;
            }
            running = true; // later tasks queue behind this one until it is done
        }
        try {
            task.run();
        } finally {
            synchronized (this) {
                if (tasks.isEmpty()) running = false;
                else pool.execute(this::drain);
            }
        }
    }

    private void drain() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = tasks.poll();
                if (next == null) {
                    running = false;
                    return;
                }
            }
            try {
                next.run();
            } catch (RuntimeException e) {
                // a bug in one task must not stop the session's later ones (its commit, its abort)
                SmtpSession.log.error("internal error in session disk work: {}", e.toString(), e);
            }
        }
    }
}
