package dev.tidewire.transport.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Defers flushes requested on a connection's reader thread while it processes one read, or on
 * any thread inside {@link #run} (an application's batch of calls).
 *
 * <p>When futures complete directly on a reader thread, the code they run often sends the next
 * request at once (a pipelining caller, a direct callback executor). Writing each of those on its
 * own would cost one socket write per call; instead the reader collects the writers asked to
 * flush during the read and flushes each once when the read's frames are done, so all the requests
 * a read triggers share one write per connection.
 *
 * <p>Code running inside a read can also ask to run an action when the read's frames are done
 * ({@link #whenReadEnds}): the connection pool uses it to keep one lease for all the calls a read
 * triggers instead of borrowing and returning once per call.
 *
 * <p>An application thread gets the same by running its calls inside {@link #run}: their
 * requests are queued, and each connection they went to is flushed once when the block ends.
 *
 * <p>Thread-confined: each thread has its own batch (a thread-local).
 */
public final class ReadBatch {
    private static final ThreadLocal<ReadBatch> CURRENT = new ThreadLocal<>();

    private final List<FrameWriter> pending = new ArrayList<>();
    private final List<Runnable> atEnd = new ArrayList<>();
    private boolean open;
    private boolean acceptsEndActions; // a read accepts them; an application's batch does not

    /** The batch of the calling thread, creating it on first use. */
    static ReadBatch forReaderThread() {
        ReadBatch b = CURRENT.get();
        if (b == null) {
            b = new ReadBatch();
            CURRENT.set(b);
        }
        return b;
    }

    /**
     * Runs {@code body} with this thread's flushes deferred to its end, then flushes each writer
     * that asked once, also when {@code body} throws. Unlike a read it takes no end actions
     * ({@link #whenReadEnds} returns false), so no pool lease outlives the call that took it.
     * Inside a batch already (nested, or on a reader thread inside a read) it just runs
     * {@code body}: the outer batch flushes.
     */
    public static void run(Runnable body) {
        ReadBatch b = forReaderThread();
        if (b.open) {
            body.run();
            return;
        }
        // No end actions: the pool would keep a lease for the whole block, and the block runs
        // application code that may take its time while other threads wait for that permit.
        b.begin(false);
        try {
            body.run();
        } finally {
            b.end();
        }
    }

    /**
     * Defers {@code writer}'s flush if the calling thread is inside a read batch.
     *
     * @return true if deferred (the batch will flush it), false if the caller must flush now
     */
    static boolean defer(FrameWriter writer) {
        ReadBatch b = CURRENT.get();
        if (b == null || !b.open) {
            return false;
        }
        if (!b.pending.contains(writer)) {
            b.pending.add(writer);
        }
        return true;
    }

    /**
     * Runs {@code action} on the calling thread when the read it is processing is done (after the
     * deferred flushes), if the calling thread is a connection's reader inside a read.
     *
     * @return true if the action will run at the end of the read; false if the caller is not inside
     *         a read (the action is not kept)
     */
    public static boolean whenReadEnds(Runnable action) {
        ReadBatch b = CURRENT.get();
        if (b == null || !b.open || !b.acceptsEndActions) {
            return false;
        }
        b.atEnd.add(action);
        return true;
    }

    /**
     * Called by code about to block on a reader thread inside a read (a wait at a pool's gate, a
     * blocking call made from a reply callback): flushes the writers deferred so far and runs the
     * end actions registered so far, now instead of at the end of the read; the read goes on.
     * So requests queued by this read are on the wire before the thread waits, and a thread that
     * waits holds no read lease: two readers can never each hold what the other waits for. End
     * actions must therefore be safe to run early (the pool's are). Does nothing elsewhere.
     */
    public static void beforeBlocking() {
        ReadBatch b = CURRENT.get();
        if (b != null && b.open) {
            b.flushPending();
            b.runEndActions();
        }
    }

    /** Opens the batch: a read accepts end actions ({@link #whenReadEnds}), an application's batch does not. */
    void begin(boolean acceptEndActions) {
        open = true;
        acceptsEndActions = acceptEndActions;
    }

    /** Ends the batch: flushes every writer that asked, once each, then runs the end actions. */
    void end() {
        open = false;
        flushPending();
        runEndActions();
    }

    private void flushPending() {
        for (int i = 0; i < pending.size(); i++) {
            pending.get(i).flush();
        }
        pending.clear();
    }

    private void runEndActions() {
        for (int i = 0; i < atEnd.size(); i++) {
            try {
                atEnd.get(i).run();
            } catch (RuntimeException e) {
                System.getLogger(ReadBatch.class.getName()).log(System.Logger.Level.ERROR,
                        "an end-of-read action failed", e);
            }
        }
        atEnd.clear();
    }
}
