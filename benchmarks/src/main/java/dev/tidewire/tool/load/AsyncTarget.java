package dev.tidewire.tool.load;

/**
 * A system under test driven without blocking: {@link #start} sends a call and returns; the call
 * ends by invoking {@code done} exactly once, on any thread (possibly before {@code start}
 * returns). Calls for different slots may start concurrently; {@code start} for one slot is never
 * entered twice at once, but a slot may have many calls in flight (the open loop uses slot 0 only),
 * so a target must not keep per-call state in the slot after {@code start} returns.
 */
@FunctionalInterface
public interface AsyncTarget {
    /** Ends one call: {@code failure} is null on success. */
    @FunctionalInterface
    interface Done {
        void complete(Throwable failure);
    }

    void start(int slot, long seq, Done done);
}
