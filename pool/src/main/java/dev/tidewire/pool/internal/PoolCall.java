package dev.tidewire.pool.internal;

import dev.tidewire.Metadata;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The future a pool caller holds across attempts. Cancelling it cancels the attempt in progress
 * (which sends CANCEL on that attempt's connection).
 */
public final class PoolCall extends CompletableFuture<byte[]> {
    private final Metadata metadata;
    private final boolean retries;
    private final AtomicReference<CompletableFuture<byte[]>> attempt = new AtomicReference<>();
    // Attempts are sequential (each hands over to the next through an executor), so a plain
    // field is enough.
    private int notProcessed;

    /**
     * A call that sends {@code metadata} with every attempt.
     *
     * @param retries whether the pool itself sends it again when it certainly was not processed
     *                (false: a fleet retries it, on another endpoint)
     */
    public PoolCall(Metadata metadata, boolean retries) {
        this.metadata = metadata;
        this.retries = retries;
    }

    /** Whether the pool retries this call itself. */
    public boolean retries() {
        return retries;
    }

    /** The metadata every attempt sends. */
    public Metadata metadata() {
        return metadata;
    }

    /** Counts one more {@code NotProcessedException} answer; returns the count so far. */
    public int notProcessedAgain() {
        return ++notProcessed;
    }

    /** Records the current attempt; cancels it at once if this call was already cancelled. */
    public void attempt(CompletableFuture<byte[]> current) {
        attempt.set(current);
        if (isCancelled()) {
            current.cancel(true);
        }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        CompletableFuture<byte[]> current = attempt.get();
        if (cancelled && current != null) {
            current.cancel(mayInterruptIfRunning);
        }
        return cancelled;
    }
}
