package dev.tidewire.transport.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Defers the flushes an application thread asks for inside {@link #run}: the requests its calls
 * queue go to each connection's event loop once, when the block ends, so they leave in one socket
 * write per connection instead of one each.
 *
 * <p>Event loops need no such batch: a flush requested on a loop (a call made from a reply
 * callback with a direct executor) is a task that the loop runs after the read it is processing,
 * so every request that read triggers already shares one flush.
 *
 * <p>Thread-confined: each thread has its own batch (a thread-local).
 */
public final class WriteBatch {
    private static final ThreadLocal<WriteBatch> CURRENT = ThreadLocal.withInitial(WriteBatch::new);

    private final List<MultiplexedConnection> pending = new ArrayList<>();
    private boolean open;

    private WriteBatch() {
    }

    /**
     * Runs {@code body} with this thread's flushes deferred to its end, then flushes each
     * connection that asked once, also when {@code body} throws. Inside a batch already (nested)
     * it just runs {@code body}: the outer batch flushes.
     */
    public static void run(Runnable body) {
        WriteBatch b = CURRENT.get();
        if (b.open) {
            body.run();
            return;
        }
        b.open = true;
        try {
            body.run();
        } finally {
            b.open = false;
            b.flushPending();
        }
    }

    /**
     * Defers {@code connection}'s flush if the calling thread is inside a batch.
     *
     * @return true if deferred (the batch will flush it), false if the caller must flush now
     */
    static boolean defer(MultiplexedConnection connection) {
        WriteBatch b = CURRENT.get();
        if (!b.open) {
            return false;
        }
        if (!b.pending.contains(connection)) {
            b.pending.add(connection);
        }
        return true;
    }

    /**
     * Called by code about to block inside a batch (a wait at a pool's gate, a blocking call):
     * sends what the batch has queued so far, so nothing waits on the thread that is about to
     * wait. The batch goes on. Does nothing outside a batch.
     */
    public static void beforeBlocking() {
        WriteBatch b = CURRENT.get();
        if (b.open) {
            b.flushPending();
        }
    }

    private void flushPending() {
        for (int i = 0; i < pending.size(); i++) {
            pending.get(i).scheduleFlush();
        }
        pending.clear();
    }
}
