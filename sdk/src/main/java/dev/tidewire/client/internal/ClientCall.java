package dev.tidewire.client.internal;

import java.util.concurrent.CompletableFuture;

/** The future an async caller holds; cancelling it cancels the call underneath (sending CANCEL). */
public final class ClientCall<T> extends CompletableFuture<T> {
    private final CompletableFuture<?> underlying;

    public ClientCall(CompletableFuture<?> underlying) {
        this.underlying = underlying;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            underlying.cancel(mayInterruptIfRunning);
        }
        return cancelled;
    }
}
