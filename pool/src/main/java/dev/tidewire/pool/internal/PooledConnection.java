package dev.tidewire.pool.internal;

import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.transport.Connection;

/**
 * What the commons-pool2 pool holds: a connection, when it must retire, and (once decided) why
 * it leaves the pool.
 */
public final class PooledConnection {
    private final Connection connection;
    private final long expiresAtNanos;
    private volatile DestroyReason retireReason;

    PooledConnection(Connection connection, long expiresAtNanos) {
        this.connection = connection;
        this.expiresAtNanos = expiresAtNanos;
    }

    public Connection connection() {
        return connection;
    }

    boolean isExpired(long nowNanos) {
        return nowNanos - expiresAtNanos >= 0;
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
