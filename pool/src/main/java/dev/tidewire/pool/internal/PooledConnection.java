package dev.tidewire.pool.internal;

import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.transport.Connection;
import java.util.concurrent.TimeUnit;

/**
 * What the commons-pool2 pool holds: a connection, when it must retire, when calls last used it,
 * and (once decided) why it leaves the pool.
 */
public final class PooledConnection {
    /** {@link #touch} writes at most once per this interval, so calls on many threads rarely share a write. */
    private static final long TOUCH_GRANULARITY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Connection connection;
    private final long expiresAtNanos;
    private final long openedNanos;
    private volatile long lastUsedNanos;
    private volatile DestroyReason retireReason;
    private final java.util.concurrent.atomic.AtomicBoolean lost = new java.util.concurrent.atomic.AtomicBoolean();

    PooledConnection(Connection connection, long createdNanos, long expiresAtNanos) {
        this.connection = connection;
        this.lastUsedNanos = createdNanos;
        this.openedNanos = createdNanos;
        this.expiresAtNanos = expiresAtNanos;
    }

    public Connection connection() {
        return connection;
    }

    /** True the first time only: the loss of this connection is reported once, whoever notices it. */
    boolean markLost() {
        return lost.compareAndSet(false, true);
    }

    /** {@link System#nanoTime()} when the connection joined the pool. */
    public long openedNanos() {
        return openedNanos;
    }

    boolean isExpired(long nowNanos) {
        return nowNanos - expiresAtNanos >= 0;
    }

    /**
     * Records a call sent on this connection without a pool lease (a shared pick); commons-pool2
     * sees only borrows, so idle eviction also asks {@link #unusedNanos}.
     */
    public void touch(long nowNanos) {
        if (nowNanos - lastUsedNanos > TOUCH_GRANULARITY_NANOS) {
            lastUsedNanos = nowNanos;
        }
    }

    /** How long no shared pick has used this connection (borrows are tracked by commons-pool2). */
    long unusedNanos(long nowNanos) {
        return nowNanos - lastUsedNanos;
    }

    DestroyReason retireReason() {
        return retireReason;
    }

    void retireReason(DestroyReason reason) {
        if (retireReason == null) {
            retireReason = reason;
        }
    }

    @Override
    public String toString() {
        return "Pooled" + connection;
    }
}
