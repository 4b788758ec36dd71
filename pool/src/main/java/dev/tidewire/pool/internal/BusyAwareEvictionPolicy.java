package dev.tidewire.pool.internal;

import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.transport.Connection;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.EvictionConfig;
import org.apache.commons.pool2.impl.EvictionPolicy;

/**
 * Eviction that understands multiplexing. commons-pool2 sees a connection as idle as soon as the
 * caller who wrote a request returns it, while replies are still due on it. This policy never
 * evicts a connection with calls in flight; otherwise it evicts one that is closed, past its
 * lifetime, or unused for the idle timeout (neither borrowed nor picked by the shared path) while
 * more than {@code minIdle} remain.
 */
public final class BusyAwareEvictionPolicy implements EvictionPolicy<PooledConnection> {

    @Override
    public boolean evict(EvictionConfig config, PooledObject<PooledConnection> underTest, int idleCount) {
        PooledConnection pooled = underTest.getObject();
        Connection c = pooled.connection();
        if (c.state() == Connection.State.CLOSED) {
            pooled.retireReason(DestroyReason.BROKEN);
            return true;
        }
        if (c.inFlight() > 0) {
            return false;
        }
        if (c.state() == Connection.State.DRAINING) {
            pooled.retireReason(DestroyReason.BROKEN);
            return true;
        }
        if (pooled.isExpired(System.nanoTime())) {
            pooled.retireReason(DestroyReason.LIFETIME);
            return true;
        }
        // idle for commons-pool2 (not borrowed) and for the shared path (not picked)
        long idleTimeout = config.getIdleEvictDuration().toNanos();
        if (underTest.getIdleDuration().toNanos() > idleTimeout && pooled.unusedNanos(System.nanoTime()) > idleTimeout
                && idleCount > config.getMinIdle()) {
            pooled.retireReason(DestroyReason.IDLE);
            return true;
        }
        return false;
    }
}
