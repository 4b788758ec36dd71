package dev.tidewire.pool.internal;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The shared path: once the pool holds all {@code maxConnections} connections, a call picks one
 * here instead of borrowing from commons-pool2. A multiplexed connection needs no exclusive
 * lease to queue a request, and at that point a borrow could neither open a connection nor
 * refuse one, so the lease only cost time: two lock round trips in commons-pool2 and a permit of
 * the fair gate per call, which on few cores become convoys (measured in docs/benchmarks.md §9.4).
 *
 * <p>Invariants: the snapshot is an immutable array replaced whole; it is rebuilt when the
 * factory's generation (a count of connections made and destroyed) differs from the one it was
 * built at, and holds connections only while there are exactly {@code maxConnections} of them.
 * Any thread may pick; none blocks. The pick of two random connections, the one with fewer calls
 * in flight ("power of two choices"), keeps a slow connection from collecting calls.
 */
public final class SharedConnections {
    private static final PooledConnection[] NONE = new PooledConnection[0];

    private record Snapshot(long generation, PooledConnection[] connections) {
    }

    private final ConnectionFactory factory;
    private final int maxConnections;
    private volatile Snapshot snapshot = new Snapshot(-1, NONE);

    public SharedConnections(ConnectionFactory factory, int maxConnections) {
        this.factory = factory;
        this.maxConnections = maxConnections;
    }

    /**
     * A connection to send on without a lease, or null while the pool is not full (then the
     * caller borrows). The caller still checks that it is usable.
     */
    public PooledConnection pick() {
        Snapshot s = snapshot;
        long generation = factory.generation();
        if (s.generation != generation) {
            s = rebuild(generation);
        }
        PooledConnection[] all = s.connections;
        int n = all.length;
        if (n == 0) {
            return null;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        PooledConnection a = all[random.nextInt(n)];
        PooledConnection b = all[random.nextInt(n)];
        return b.connection().inFlight() < a.connection().inFlight() ? b : a;
    }

    private Snapshot rebuild(long generation) {
        PooledConnection[] now = factory.pooled().toArray(NONE);
        // a generation read before the copy: if the set changed meanwhile, the next pick rebuilds again
        Snapshot s = new Snapshot(generation, now.length == maxConnections ? now : NONE);
        snapshot = s;
        return s;
    }
}
