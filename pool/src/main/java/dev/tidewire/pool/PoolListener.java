package dev.tidewire.pool;

/**
 * Pool events, for metrics. Every method has a no-op default; implementations must be fast and
 * must not throw (they run on callers' and the evictor's threads).
 */
public interface PoolListener {
    /** Why a connection left the pool. */
    enum DestroyReason {
        /** Unused for the idle timeout. */
        IDLE,
        /** Reached its maximum lifetime. */
        LIFETIME,
        /** Failed: heartbeat, protocol error, reset, or the server went away (GOAWAY). */
        BROKEN,
        /**
         * Still open, but its calls kept timing out while other connections' calls succeeded: the
         * server (or something on the path) no longer serves it. It drains and is replaced.
         */
        UNRESPONSIVE,
        /** The pool was closed. */
        CLOSED
    }

    /** A listener that ignores every event: the default. */
    PoolListener NONE = new PoolListener() {
    };

    /** A connection was opened. */
    default void connectionCreated() {
    }

    /** A connect attempt failed (or was skipped while backing off). */
    default void connectFailed() {
    }

    /** A connection left the pool; it drains its calls, then closes. */
    default void connectionDestroyed(DestroyReason reason) {
    }

    /** A caller obtained a connection after waiting {@code nanos}. */
    default void borrowed(long waitNanos) {
    }
}
