package dev.postern.admin;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * The log's output: writers copy their lines into a buffer and go on; one thread writes whatever has
 * gathered with a single write(2). A quiet server's line reaches the file at once; a busy one's lines
 * gather for up to 2 ms, and its six lines per message (Postfix's "connect", "client=", "from=", "to=", "removed",
 * "disconnect") cost one system call per batch instead of one each, made by neither an event loop nor a
 * delivery thread. Nothing is dropped: past {@link #MAX_PENDING} bytes not yet written, writers wait.
 * A JVM shutdown (System.exit, SIGTERM) writes what is left; SIGKILL loses at most the last batch.
 */
final class BatchingOutputStream extends OutputStream {
    static final int MAX_PENDING = 4 << 20;
    /** After a batch, the writer waits this long for the next one before it asks to be woken: a wake-up per line cost more than the write(2) it saves. */
    private static final long LINGER_MILLIS = 2;

    private final OutputStream target;
    private byte[] pending = new byte[64 * 1024];
    private int length;
    private boolean writing; // the writer holds a batch it has not finished writing
    private boolean parked;  // the writer waits for a first line, not for a batch to gather
    private boolean closed;
    private boolean complained;
    private final Thread writer;

    BatchingOutputStream(OutputStream target, String name) {
        this.target = target;
        this.writer = new Thread(this::run, name);
        writer.setDaemon(true);
        writer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(this::drain, name + "-exit"));
    }

    @Override public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override public synchronized void write(byte[] b, int off, int len) throws IOException {
        if (closed) throw new IOException("log output closed");
        while (length + len > MAX_PENDING && length > 0 && !closed) {
            try {
                wait(); // the disk is behind: the log slows its writers rather than losing lines
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
        }
        if (length + len > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + len));
        System.arraycopy(b, off, pending, length, len);
        length += len;
        if (parked) { // the first line after a quiet spell wakes the writer; a busy writer is not woken per line
            parked = false;
            notifyAll();
        }
    }

    /** Nothing to do: the writer writes as soon as anything is there. */
    @Override public void flush() {}

    private void run() {
        byte[] spare = new byte[64 * 1024];
        while (true) {
            byte[] batch;
            int n;
            synchronized (this) {
                try {
                    if (length == 0 && !closed) wait(LINGER_MILLIS); // busy: let a batch gather, unwoken
                    while (length == 0 && !closed) {
                        parked = true;
                        wait();
                    }
                } catch (InterruptedException e) {
                    return;
                }
                if (length == 0) return;
                batch = pending;
                n = length;
                pending = spare;
                length = 0;
                writing = true;
                notifyAll(); // room again for writers waiting on a full buffer
            }
            try {
                target.write(batch, 0, n);
                target.flush();
            } catch (IOException e) {
                if (!complained) System.err.println("postern: cannot write the log: " + e); // once: the log itself is what failed
                complained = true;
            }
            synchronized (this) {
                writing = false;
                notifyAll();
            }
            spare = batch.length > MAX_PENDING ? new byte[64 * 1024] : batch; // a burst's large buffer is not kept
        }
    }

    /** Waits until everything written so far is out (at most 5 s: a stuck disk does not hold up an exit). */
    synchronized void drain() {
        long deadline = System.currentTimeMillis() + 5_000;
        while ((length > 0 || writing) && writer.isAlive()) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) return;
            try {
                wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override public void close() throws IOException {
        drain();
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        target.close();
    }
}
