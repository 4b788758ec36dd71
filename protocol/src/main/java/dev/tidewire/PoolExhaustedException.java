package dev.tidewire;

/**
 * No pooled connection became free before the call's deadline. Nothing was sent, so the call is
 * {@link #retryable()}. The message and accessors carry the pool's counts at the moment of failure.
 */
public class PoolExhaustedException extends TidewireException {
    /** @serial connections lent out */
    private final int active;
    /** @serial connections idle in the pool */
    private final int idle;
    /** @serial callers waiting, this one included */
    private final int waiting;

    /**
     * @param message what timed out waiting; the counts are appended to it
     * @param active  connections lent out
     * @param idle    connections idle in the pool
     * @param waiting callers waiting for a connection, this one included
     */
    public PoolExhaustedException(String message, int active, int idle, int waiting) {
        super(message + " (pool: active=" + active + ", idle=" + idle + ", waiting=" + waiting + ")", true, null);
        this.active = active;
        this.idle = idle;
        this.waiting = waiting;
    }

    /** Connections lent out when the call gave up. */
    public int active() {
        return active;
    }

    /** Connections idle in the pool when the call gave up. */
    public int idle() {
        return idle;
    }

    /** Callers waiting for a connection when the call gave up (this one included). */
    public int waiting() {
        return waiting;
    }
}
