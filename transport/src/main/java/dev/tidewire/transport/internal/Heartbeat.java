package dev.tidewire.transport.internal;

/**
 * The heartbeat decision, free of threads and clocks so it can be tested with plain numbers.
 *
 * <p>Liveness is judged by reads only: any bytes from the peer prove it alive. After
 * {@code interval} without a read the connection sends a PING (again at most once per interval);
 * after {@code timeout} without one the peer is declared dead. A silent peer is therefore
 * detected within {@code timeout} plus one timer tick.
 */
public final class Heartbeat {
    /** What the connection should do now. */
    public enum Action { NONE, PING, DEAD }

    private final long intervalNanos;
    private final long timeoutNanos;
    // Owned by the connection's event loop, whose tick is the only caller of check().
    private long lastPingNanos;
    private boolean pinged;

    /**
     * @param intervalNanos read silence after which a PING is sent; 0 disables the heartbeat
     * @param timeoutNanos  read silence after which the peer is dead; must exceed the interval
     */
    public Heartbeat(long intervalNanos, long timeoutNanos) {
        this.intervalNanos = intervalNanos;
        this.timeoutNanos = timeoutNanos;
    }

    /** Decides at {@code nowNanos}, given when the last frame was read. */
    public Action check(long nowNanos, long lastReadNanos) {
        if (intervalNanos <= 0) {
            return Action.NONE;
        }
        long silent = nowNanos - lastReadNanos;
        if (silent >= timeoutNanos) {
            return Action.DEAD;
        }
        if (silent >= intervalNanos && (!pinged || nowNanos - lastPingNanos >= intervalNanos)) {
            pinged = true;
            lastPingNanos = nowNanos;
            return Action.PING;
        }
        return Action.NONE;
    }
}
