package dev.tidewire.pool.internal;

import dev.tidewire.transport.internal.NettyRuntime;
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
 * built at, and says whether it holds exactly {@code maxConnections} of them (full).
 * Any thread may pick; none blocks. On an event loop, a connection that loop serves is taken
 * first ({@link #localTo}): its request goes out in the same loop iteration, with no hand-off to
 * and no wake-up of another loop. Otherwise the pick of two random connections ("power of two
 * choices") keeps a slow connection, or one whose server has stopped reading, from collecting
 * calls: the one within its outbound byte budget wins, then the one with fewer calls in flight.
 */
public final class SharedConnections {
    private static final PooledConnection[] NONE = new PooledConnection[0];

    private record Snapshot(long generation, PooledConnection[] connections, boolean full) {
    }

    private final ConnectionFactory factory;
    private final int maxConnections;
    private volatile Snapshot snapshot = new Snapshot(-1, NONE, false);

    public SharedConnections(ConnectionFactory factory, int maxConnections) {
        this.factory = factory;
        this.maxConnections = maxConnections;
    }

    /**
     * A connection to send on without a lease, or null while the pool is not full (then the
     * caller borrows). The caller still checks that it is usable.
     */
    public PooledConnection pick() {
        return pick(true);
    }

    /**
     * Like {@link #pick()}; with {@code requireFull} false any pooled connection may be picked
     * before the pool is full: for an event loop, which must not borrow (a borrow may wait).
     */
    public PooledConnection pick(boolean requireFull) {
        Snapshot s = snapshot;
        long generation = factory.generation();
        if (s.generation != generation) {
            s = rebuild(generation);
        }
        PooledConnection[] all = s.connections;
        int n = all.length;
        if (n == 0 || (requireFull && !s.full)) {
            return null;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        PooledConnection b = all[random.nextInt(n)];
        if (n > 1 && !b.connection().inEventLoop() && NettyRuntime.onEventLoop()) {
            PooledConnection local = localTo(all, b);
            if (local != null) {
                return local;
            }
        }
        PooledConnection a = all[random.nextInt(n)];
        boolean aWritable = a.connection().isWritable();
        if (aWritable != b.connection().isWritable()) {
            return aWritable ? a : b; // the other has a full outbound budget: its calls would wait
        }
        boolean aLocal = a.connection().inEventLoop();
        if (aLocal != b.connection().inEventLoop()) {
            return aLocal ? a : b; // on an event loop: its own connection needs no hand-off
        }
        return b.connection().inFlight() < a.connection().inFlight() ? b : a;
    }

    /**
     * On an event loop: the least-loaded writable OPEN connection that loop serves (a draining one
     * would send every call it is picked for to the slow path), unless it has more
     * than twice the calls in flight of {@code other} (plus a margin), or null (not on a loop, or
     * the loop serves none). A call made on the loop that serves its connection is written in the
     * same loop iteration, with no queue hand-off to, and no wake-up of, another loop; calls that
     * chain from a reply (an async continuation on the direct executor) stay with the loop that
     * read it. The margin keeps the loops from piling calls on their own connections while
     * another loop's sit idle. A scan of at most {@code maxConnections}.
     */
    private static PooledConnection localTo(PooledConnection[] all, PooledConnection other) {
        PooledConnection best = null;
        int bestInFlight = Integer.MAX_VALUE;
        for (PooledConnection p : all) {
            if (p.connection().inEventLoop() && p.connection().isWritable()
                    && p.connection().state() == dev.tidewire.transport.Connection.State.OPEN) {
                int f = p.connection().inFlight();
                if (f < bestInFlight) {
                    best = p;
                    bestInFlight = f;
                }
            }
        }
        if (best == null || (other.connection().isWritable() && bestInFlight > 2 * other.connection().inFlight() + 16)) {
            return null;
        }
        return best;
    }

    /**
     * Whether the pool holds a connection a call can go out on now: OPEN (not draining or closed)
     * and within its lifetime. A scan of at most {@code maxConnections}; no lock.
     */
    public boolean anyOpen() {
        Snapshot s = snapshot;
        long generation = factory.generation();
        if (s.generation != generation) {
            s = rebuild(generation);
        }
        long now = System.nanoTime();
        for (PooledConnection p : s.connections) {
            if (p.connection().state() == dev.tidewire.transport.Connection.State.OPEN && !p.isExpired(now)) {
                return true;
            }
        }
        return false;
    }

    private Snapshot rebuild(long generation) {
        PooledConnection[] now = factory.pooled().toArray(NONE);
        // a generation read before the copy: if the set changed meanwhile, the next pick rebuilds again
        Snapshot s = new Snapshot(generation, now, now.length == maxConnections);
        snapshot = s;
        return s;
    }
}
