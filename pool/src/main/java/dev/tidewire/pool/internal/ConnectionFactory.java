package dev.tidewire.pool.internal;

import dev.tidewire.AuthenticationException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.TidewireException;
import dev.tidewire.TlsException;
import dev.tidewire.pool.PoolListener;
import dev.tidewire.pool.PoolListener.DestroyReason;
import dev.tidewire.pool.PoolOptions;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.TransportResources;
import dev.tidewire.transport.Deadline;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Supplier;
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
 * The commons-pool2 factory: opens connections (behind a {@link ConnectBackoff}), validates them
 * locally, and retires them gracefully.
 *
 * <ul>
 *   <li>{@link #makeObject()} throws a typed {@link ConnectFailedException} on failure, never
 *       returns null, so the pool releases its waiters at once; while backing off it fails fast
 *       without touching the network. Refused credentials ({@link AuthenticationException}) and
 *       failed TLS handshakes ({@link TlsException}) count as failures for the backoff too, so a
 *       wrong token or a bad certificate does not cause a reconnect storm; while backing off after
 *       one of those, the same non-retryable type is thrown again.</li>
 *   <li>{@link #validateObject} is local and costs nanoseconds: open, not draining, not past its
 *       lifetime. The connection's heartbeat (PING on idle connections, death after the heartbeat
 *       timeout) is the background probe; validation reads its verdict instead of doing a round
 *       trip per borrow.</li>
 *   <li>{@link #destroyObject} drains: the connection refuses new calls, lets the ones in flight
 *       finish (each bounded by its own deadline), then closes. Destroying never fails a call.</li>
 * </ul>
 */
public final class ConnectionFactory implements PooledObjectFactory<PooledConnection> {
    private final InetSocketAddress address;
    private final ConnectionOptions connectionOptions;
    private final PoolOptions poolOptions;
    private final TransportResources resources;
    private final PoolListener listener;
    private final ConnectBackoff backoff;
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final java.util.Map<Connection, CompletableFuture<Void>> gone = new ConcurrentHashMap<>();
    // The connections commons-pool2 holds now (made and not yet destroyed), and a count of changes
    // to that set, so SharedConnections can tell at the cost of one read when its snapshot is stale.
    private final Set<PooledConnection> pooled = ConcurrentHashMap.newKeySet();
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong connectAttempts = new AtomicLong();
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong destroyed = new AtomicLong();
    private final AtomicLong lateResponsesOfClosed = new AtomicLong();
    private volatile boolean closing;
    // The last connect failure, if it was one that retrying cannot fix (credentials, TLS).
    private volatile TidewireException lastPermanentFailure;
    // The deadline of the call whose borrow is creating a connection (commons-pool2 creates on the
    // borrowing thread), so a connect never outlasts the call that waits for it.
    private final ThreadLocal<Deadline> borrowDeadline = new ThreadLocal<>();

    public ConnectionFactory(InetSocketAddress address, ConnectionOptions connectionOptions, PoolOptions poolOptions,
            TransportResources resources, PoolListener listener) {
        this.address = address;
        this.connectionOptions = connectionOptions;
        this.poolOptions = poolOptions;
        this.resources = resources;
        this.listener = listener;
        this.backoff = new ConnectBackoff(poolOptions.connectBackoffInitial().toNanos(),
                poolOptions.connectBackoffMax().toNanos(), () -> ThreadLocalRandom.current().nextDouble());
    }

    @Override
    public PooledObject<PooledConnection> makeObject() {
        long now = System.nanoTime();
        long wait = backoff.delayNanos(now);
        if (wait > 0) {
            listener.connectFailed();
            String why = "not connecting to " + address + " for another " + TimeUnit.NANOSECONDS.toMillis(wait)
                    + " ms after " + backoff.failures() + " failed attempts (last: " + backoff.lastError() + ")";
            TidewireException permanent = lastPermanentFailure;
            if (permanent instanceof AuthenticationException) {
                throw new AuthenticationException(why, null);
            }
            if (permanent instanceof TlsException) {
                throw new TlsException(why, null);
            }
            throw new ConnectFailedException(why, null);
        }
        connectAttempts.incrementAndGet();
        Connection c;
        try {
            c = Connection.open(address, optionsWithin(borrowDeadline.get(), now), resources);
        } catch (ConnectFailedException e) {
            lastPermanentFailure = null;
            backoff.onFailure(System.nanoTime(), e.getMessage());
            listener.connectFailed();
            throw e;
        } catch (AuthenticationException | TlsException e) {
            lastPermanentFailure = e;
            backoff.onFailure(System.nanoTime(), e.getMessage());
            listener.connectFailed();
            throw e;
        }
        lastPermanentFailure = null;
        backoff.onSuccess();
        open.add(c);
        // completes once the connection has left `open`: what a closing pool waits for
        CompletableFuture<Void> left = c.closeFuture().whenComplete((v, e) -> {
            open.remove(c);
            lateResponsesOfClosed.addAndGet(c.stats().lateResponses());
        });
        gone.put(c, left);
        left.thenRun(() -> gone.remove(c)); // after the put, even if the connection closed already
        created.incrementAndGet();
        listener.connectionCreated();
        long lifetime = poolOptions.maxLifetime().toNanos();
        long jitter = (long) (lifetime * poolOptions.lifetimeJitter() * ThreadLocalRandom.current().nextDouble());
        long opened = System.nanoTime();
        PooledConnection p = new PooledConnection(c, opened, opened + lifetime - jitter);
        pooled.add(p);
        generation.incrementAndGet();
        return new DefaultPooledObject<>(p);
    }

    /** Runs {@code borrow} with {@code deadline} bounding any connect it triggers on this thread. */
    public <T> T withDeadline(Deadline deadline, Supplier<T> borrow) {
        borrowDeadline.set(deadline);
        try {
            return borrow.get();
        } finally {
            borrowDeadline.remove();
        }
    }

    private ConnectionOptions optionsWithin(Deadline deadline, long now) {
        if (deadline == null) {
            return connectionOptions;
        }
        long left = deadline.remainingNanos(now);
        if (left >= connectionOptions.connectTimeout().toNanos()) {
            return connectionOptions;
        }
        if (left <= 0) {
            throw new ConnectFailedException("no time left to connect to " + address + " before the call's deadline", null);
        }
        return connectionOptions.toBuilder().connectTimeout(Duration.ofNanos(left)).build();
    }

    @Override
    public boolean validateObject(PooledObject<PooledConnection> p) {
        return usable(p.getObject(), System.nanoTime());
    }

    /** Open and within its lifetime; if not, records why it must retire. Costs no I/O. */
    public boolean usable(PooledConnection pooled, long nowNanos) {
        if (pooled.connection().state() != Connection.State.OPEN) {
            pooled.retireReason(DestroyReason.BROKEN);
            return false;
        }
        if (pooled.isExpired(nowNanos)) {
            pooled.retireReason(DestroyReason.LIFETIME);
            return false;
        }
        return true;
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

    /** Nanoseconds until a connect attempt is allowed again (0 when not backing off). */
    public long backoffNanos() {
        return backoff.delayNanos(System.nanoTime());
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

    public long connectAttempts() {
        return connectAttempts.get();
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
