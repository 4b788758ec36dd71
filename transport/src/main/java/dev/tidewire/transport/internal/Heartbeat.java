package dev.tidewire.transport.internal;

/**
 * The heartbeat decision, free of threads and clocks so it can be tested with plain numbers.
 *
 * <p>Liveness is judged by completed frames: a reply, a PONG, any frame proves the peer alive;
 * bytes alone do not (a decoder waiting for a frame that never ends, fed a trickle of bytes, is as
 * good as dead). After {@code interval} without a frame the connection sends a PING (again at
 * most once per interval); after {@code timeout} without one the peer is declared dead. A silent
 * or garbled peer is therefore detected within {@code timeout} plus one timer tick.
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
     * @param intervalNanos time without a frame after which a PING is sent; 0 disables the heartbeat
     * @param timeoutNanos  time without a frame after which the peer is dead; must exceed the interval
     */
    public Heartbeat(long intervalNanos, long timeoutNanos) {
        this.intervalNanos = intervalNanos;
        this.timeoutNanos = timeoutNanos;
    }

    /** Decides at {@code nowNanos}, given when the last frame completed. */
    public Action check(long nowNanos, long lastFrameNanos) {
        if (intervalNanos <= 0) {
            return Action.NONE;
        }
        long silent = nowNanos - lastFrameNanos;
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
