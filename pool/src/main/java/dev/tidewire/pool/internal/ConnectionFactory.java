package dev.tidewire.pool.internal;

import dev.tidewire.AuthenticationException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.TlsException;
import dev.tidewire.pool.PoolListener;
import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.pool.PoolOptions;
import dev.tidewire.transport.Connection;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.PooledObjectFactory;
import org.apache.commons.pool2.impl.DefaultPooledObject;

/**
 * The commons-pool2 factory: wraps the connections the {@link Connector} opens, validates them
 * locally, and retires them gracefully.
 *
 * <ul>
 *   <li>{@link #makeObject()} never touches the network. Called by {@link #adopt} it wraps the
 *       connection being adopted; called by commons-pool2 for a borrower that found no idle
 *       connection, it throws what {@link Connector#pending()} says: {@link Connector.Pending}
 *       (an attempt is under way; the pool lets the call wait for it within its deadline) or, while
 *       backing off, a typed {@link ConnectFailedException}, {@link AuthenticationException} or
 *       {@link TlsException}. commons-pool2 then releases its waiters at once.</li>
 *   <li>{@link #validateObject} is local and costs nanoseconds: open, not draining, not past its
 *       lifetime. The connection's heartbeat (PING on idle connections, death after the heartbeat
 *       timeout) is the background probe; validation reads its verdict instead of doing a round
 *       trip per borrow.</li>
 *   <li>{@link #destroyObject} drains: the connection refuses new calls, lets the ones in flight
 *       finish (each bounded by its own deadline), then closes. Destroying never fails a call.</li>
 * </ul>
 */
public final class ConnectionFactory implements PooledObjectFactory<PooledConnection> {
    /**
     * A connection is unresponsive when at least this many sent calls in a row timed out on it...
     */
    static final int UNRESPONSIVE_TIMEOUTS = 8;
    /** ...and it has delivered no reply for this long, while another connection has, within it. */
    static final long UNRESPONSIVE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final InetSocketAddress address;
    private final PoolOptions poolOptions;
    private final PoolListener listener;
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final java.util.Map<Connection, CompletableFuture<Void>> gone = new ConcurrentHashMap<>();
    // The connections commons-pool2 holds now (made and not yet destroyed), and a count of changes
    // to that set, so SharedConnections can tell at the cost of one read when its snapshot is stale.
    private final Set<PooledConnection> pooled = ConcurrentHashMap.newKeySet();
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong destroyed = new AtomicLong();
    private final AtomicLong lateResponsesOfClosed = new AtomicLong();
    // The connection adopt() is putting into the pool on this thread, for makeObject to take.
    private final ThreadLocal<Connection> adopting = new ThreadLocal<>();
    private volatile boolean closing;
    private volatile Connector connector;
    private volatile Consumer<PooledConnection> lost = p -> { };

    public ConnectionFactory(InetSocketAddress address, PoolOptions poolOptions, PoolListener listener) {
        this.address = address;
        this.poolOptions = poolOptions;
        this.listener = listener;
    }

    /**
     * Wires the factory to the connector that opens connections and to what must happen when a
     * pooled connection closes on its own (it broke): set once, before the pool is used.
     */
    public void attach(Connector connector, Consumer<PooledConnection> lost) {
        this.connector = connector;
        this.lost = lost;
    }

    @Override
    public PooledObject<PooledConnection> makeObject() {
        Connection c = adopting.get();
        if (c == null) {
            throw connector.pending(); // a borrower found no idle connection: wait for one, or back off
        }
        adopting.remove(); // taken: adopt() must not close it
        open.add(c);
        long lifetime = poolOptions.maxLifetime().toNanos();
        long jitter = (long) (lifetime * poolOptions.lifetimeJitter() * ThreadLocalRandom.current().nextDouble());
        long opened = System.nanoTime();
        PooledConnection p = new PooledConnection(c, opened, opened + lifetime - jitter);
        // completes once the connection has left `open`: what a closing pool waits for
        CompletableFuture<Void> left = c.closeFuture().whenComplete((v, e) -> {
            open.remove(c);
            lateResponsesOfClosed.addAndGet(c.stats().lateResponses());
            if (!closing && pooled.contains(p) && p.markLost()) {
                lost.accept(p); // it broke while pooled: take it out and reconnect in the background
            }
        });
        gone.put(c, left);
        left.thenRun(() -> gone.remove(c)); // after the put, even if the connection closed already
        created.incrementAndGet();
        listener.connectionCreated();
        pooled.add(p);
        generation.incrementAndGet();
        return new DefaultPooledObject<>(p);
    }

    /**
     * Puts {@code c}, just opened by the {@link Connector}, into the pool through
     * {@code addObject} (commons-pool2 counts it against {@code maxConnections}); closes it if the
     * pool has no room for it or is closed. Runs on the callback pool.
     */
    public void adopt(Connection c, Callable<?> addObject) {
        adopting.set(c);
        try {
            addObject.call();
        } catch (Exception e) {
            // pool closed: c is closed below
        } finally {
            if (adopting.get() != null) {
                adopting.remove();
                c.close(); // not taken: the pool is full or closed
            }
        }
    }

    @Override
    public boolean validateObject(PooledObject<PooledConnection> p) {
        return usable(p.getObject(), System.nanoTime());
    }

    /**
     * Open, within its lifetime, and not unresponsive; if not, records why it must retire. Costs
     * no I/O.
     */
    public boolean usable(PooledConnection pooled, long nowNanos) {
        Connection c = pooled.connection();
        if (c.state() != Connection.State.OPEN) {
            pooled.retireReason(DestroyReason.BROKEN);
            return false;
        }
        if (pooled.isExpired(nowNanos)) {
            pooled.retireReason(DestroyReason.LIFETIME);
            return false;
        }
        if (c.timeoutsSinceLastReply() >= UNRESPONSIVE_TIMEOUTS && nowNanos - c.lastReplyNanos() >= UNRESPONSIVE_NANOS
                && anotherServes(pooled, nowNanos)) {
            pooled.retireReason(DestroyReason.UNRESPONSIVE);
            return false;
        }
        return true;
    }

    /**
     * Whether another pooled connection delivered a reply within {@link #UNRESPONSIVE_NANOS}: then
     * calls timing out on {@code suspect} say more about that connection than about the server.
     * When every connection's calls time out, the server is slow, and retiring connections would
     * only add connects to its load. (Random timeouts of a slow server never leave a connection
     * without a reply for a whole second while another gets them.)
     */
    private boolean anotherServes(PooledConnection suspect, long nowNanos) {
        for (PooledConnection p : pooled) {
            if (p != suspect && p.connection().state() == Connection.State.OPEN
                    && nowNanos - p.connection().lastReplyNanos() < UNRESPONSIVE_NANOS) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void destroyObject(PooledObject<PooledConnection> p) {
        PooledConnection pooled = p.getObject();
        if (this.pooled.remove(pooled)) {
            generation.incrementAndGet();
        }
        if (closing) {
            pooled.retireReason(DestroyReason.CLOSED);
        }
        pooled.retireReason(pooled.connection().state() == Connection.State.OPEN ? DestroyReason.IDLE : DestroyReason.BROKEN);
        destroyed.incrementAndGet();
        listener.connectionDestroyed(pooled.retireReason());
        if (!closing && pooled.retireReason() == DestroyReason.BROKEN && pooled.markLost()) {
            // a borrow's validation found it broken before its close was noticed: reconnect all the same
            lost.accept(pooled);
        }
        pooled.connection().shutdown();
    }

    @Override
    public void activateObject(PooledObject<PooledConnection> p) {
        // nothing to do: a multiplexed connection carries no per-borrower state
    }

    @Override
    public void passivateObject(PooledObject<PooledConnection> p) {
        // nothing to do
    }

    /** The connections the pool holds now (weakly consistent view). */
    public Set<PooledConnection> pooled() {
        return pooled;
    }

    /** Changes so far to {@link #pooled()}: a connection made or destroyed. */
    public long generation() {
        return generation.get();
    }

    /** Marks the pool as closing, so destroys are counted as CLOSED. */
    public void closing() {
        closing = true;
    }

    /** Connections open now, including retired ones still draining. */
    public Set<Connection> openConnections() {
        return open;
    }

    /**
     * Completes once {@code c} has closed and left {@link #openConnections()} (its close future
     * alone may complete a moment earlier, while the bookkeeping runs).
     */
    public CompletableFuture<Void> gone(Connection c) {
        return gone.getOrDefault(c, CompletableFuture.completedFuture(null));
    }

    public long created() {
        return created.get();
    }

    public long destroyed() {
        return destroyed.get();
    }

    /** Late responses over every connection this factory opened. */
    public long lateResponses() {
        long sum = lateResponsesOfClosed.get();
        for (Connection c : open) {
            sum += c.stats().lateResponses();
        }
        return sum;
    }

    public InetSocketAddress address() {
        return address;
    }
}
