package dev.tidewire.pool;

import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.Metadata;
import dev.tidewire.NotProcessedException;
import dev.tidewire.PoolExhaustedException;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.internal.BusyAwareEvictionPolicy;
import dev.tidewire.pool.internal.ConnectionFactory;
import dev.tidewire.pool.internal.EndpointEvents;
import dev.tidewire.pool.internal.Connector;
import dev.tidewire.pool.internal.RetryBudget;
import dev.tidewire.pool.internal.PoolCall;
import dev.tidewire.pool.internal.PooledConnection;
import dev.tidewire.pool.internal.SharedConnections;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import dev.tidewire.transport.internal.Completions;
import dev.tidewire.transport.internal.NettyRuntime;
import dev.tidewire.transport.internal.WriteBatch;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;

/**
 * A commons-pool2 {@link GenericObjectPool} of multiplexed {@link Connection}s.
 *
 * <pre>{@code
 * try (ConnectionPool pool = ConnectionPool.create(address, PoolOptions.defaults(),
 *         ConnectionOptions.defaults(), resources, PoolListener.NONE)) {
 *     byte[] reply = pool.call("echo", body, Deadline.after(Duration.ofSeconds(1)), executor).join();
 * }
 * }</pre>
 *
 * <p><b>Leases are short.</b> A caller borrows a connection only to hand its request over, then
 * returns it; the reply comes back on the connection asynchronously. So each connection carries
 * many calls, and commons-pool2 sees a connection with calls in flight as idle. The factory, the
 * {@link BusyAwareEvictionPolicy} and {@code maxIdle = maxConnections} make sure eviction,
 * validation and returns never destroy or probe a connection that is busy.
 *
 * <p><b>Fair waits.</b> commons-pool2's wait queue lets a thread that returns a connection take it
 * straight back before the waiter it woke can run; under contention a few callers then wait far
 * longer than the rest. Callers here first pass a fair {@link Semaphore} with one permit per
 * connection: a caller takes a free permit at once, and otherwise waits there in arrival order; a
 * caller holding a permit always finds a connection (idle, or one the pool may create), so it never
 * queues inside commons-pool2. Leases last well under a microsecond (the request is only queued
 * under the lease), so taking a free permit ahead of a waiter costs that waiter little, while
 * handing every permit through the queue would cost a thread wake-up per call (measured: about a
 * third of the pool's throughput with 64 callers on 2 cores).
 *
 * <p><b>Event loops never borrow.</b> A call made on an event loop (a reply's callback with a
 * direct executor, sending the next request) takes the shared path below when it can; otherwise
 * its attempt is handed to the callback pool, because borrowing may wait at the gate or for a
 * connect, and an event loop must never wait. So two clients' loops calling each other's clients
 * can never wait for one another.
 *
 * <p><b>The shared path.</b> Once the pool holds all {@code maxConnections} connections, a
 * borrow can neither open a connection nor refuse one, so calls take no lease at all: they pick
 * a connection from {@link SharedConnections} (two random choices, the one with fewer calls in
 * flight), skipping the gate and commons-pool2, whose locks convoy under many threads on few
 * cores (measured: +33 % to +46 % blocking throughput). A pick notes its time for idle eviction;
 * a picked connection that is closed, draining or past its lifetime sends the call to a borrow,
 * whose validation retires it; a connection retired for lifetime is replaced in the background.
 *
 * <p><b>Connects.</b> No caller ever connects: a {@link Connector} opens the pool's connections,
 * one attempt at a time, each with the full connect timeout, behind a jittered backoff, and
 * reconnects in the background after a loss. A call that finds no connection waits for the attempt
 * under way without holding its thread, and fails with {@link ConnectFailedException} at its
 * deadline if the attempt is still going (the attempt goes on; its connection joins the pool).
 * While the pool backs off after failed attempts, calls fail fast and are retried once the next
 * attempt is under way, if their deadlines allow.
 *
 * <p><b>Deadlines and retries.</b> The borrow wait is whatever remains of the call's deadline,
 * never infinite. A request that certainly was not processed is sent again while the deadline
 * allows: after {@link NotProcessedException} (GOAWAY, or the connection died before the request
 * was written) after a jittered pause of 1 to 50 ms, at most {@link #MAX_NOT_PROCESSED} sends in
 * all; after {@link ConnectFailedException} once the backoff allows the next attempt (plus
 * jitter). Every retry takes a token from the client-wide {@link RetryBudget} (20 % of calls plus
 * 10 per second by default); with none left the call fails with its error, a suppressed
 * {@link RetryBudget.Exhausted} saying why. So a rolling restart of the server costs callers
 * latency, not errors, and a refusing server sees little more load than the calls themselves.
 * Other errors, including the retryable {@link PoolExhaustedException} and OVERLOADED replies, are
 * returned to the caller.
 */
public final class ConnectionPool implements AutoCloseable {
    /** Most attempts per call (waits for a connect included); each retry also needs time left before the deadline. */
    static final int MAX_ATTEMPTS = 32;
    /**
     * Most {@link NotProcessedException} answers a call takes before it fails with the last one:
     * a server (or proxy) that keeps refusing sees the call at most this many times.
     */
    static final int MAX_NOT_PROCESSED = 4;
    /** Longest pause before resending a call that was not processed. */
    static final long MAX_NOT_PROCESSED_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final PoolOptions options;
    private final ConnectionFactory factory;
    private final Connector connector;
    private final RetryBudget retryBudget;
    private final long connectTimeoutMillis;
    private final java.util.concurrent.atomic.AtomicLong retryBudgetExhausted = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastLostNanos = System.nanoTime() - Long.MAX_VALUE / 4;
    private final GenericObjectPool<PooledConnection> pool;
    private final Semaphore permits;
    private final PoolListener listener;
    private final Executor retryExecutor;
    private final TransportResources resources;
    private final ConcurrentHashMap<PoolCall, TidewireException> waitingRetry = new ConcurrentHashMap<>();
    private final SharedConnections shared;
    private static final Duration REPLACE_DELAY = Duration.ofMillis(5);
    /** A connection lost sooner than this after it opened counts as a failed connect for the backoff. */
    private static final long SHORT_LIVED_NANOS = TimeUnit.SECONDS.toNanos(1);
    private volatile boolean closed;

    private final EndpointEvents events;
    /** Set when a fleet removed this pool's endpoint: where calls that still arrive here go instead. */
    private volatile Resend redirect;

    /** Sends a call elsewhere (the fleet, once this pool's endpoint has left it). */
    interface Resend {
        CompletableFuture<byte[]> send(String op, byte[] body, Metadata metadata, Deadline deadline);
    }

    private ConnectionPool(InetSocketAddress address, PoolOptions options, ConnectionOptions connectionOptions,
            TransportResources resources, PoolListener listener, RetryBudget retryBudget, EndpointEvents events) {
        this.options = options;
        this.events = events;
        this.listener = listener;
        this.retryExecutor = resources.callbackExecutor();
        this.connectTimeoutMillis = connectionOptions.connectTimeout().toMillis();
        this.resources = resources;
        PoolListener replacing = replacing(listener);
        this.factory = new ConnectionFactory(address, options, replacing);
        this.connector = new Connector(address, connectionOptions, resources, retryExecutor, replacing,
                options.connectBackoffInitial(), options.connectBackoffMax(),
                this::adopt, this::wanted, events);
        this.factory.attach(connector, this::lost);
        this.retryBudget = retryBudget != null ? retryBudget
                : new RetryBudget(options.retryBudgetRatio(), options.retryBudgetMinPerSecond());
        this.permits = new Semaphore(options.maxConnections(), true);
        GenericObjectPoolConfig<PooledConnection> config = new GenericObjectPoolConfig<>();
        config.setMaxTotal(options.maxConnections());
        config.setMaxIdle(options.maxConnections());    // returning must never destroy a busy connection
        config.setMinIdle(options.minIdle());
        config.setLifo(false);                          // spread calls over all connections
        config.setFairness(false);                      // fairness is the semaphore's job
        config.setBlockWhenExhausted(true);
        config.setTestOnBorrow(true);
        config.setTestOnReturn(false);
        config.setTestWhileIdle(true);
        config.setNumTestsPerEvictionRun(options.maxConnections());
        config.setMinEvictableIdleDuration(options.idleTimeout());
        config.setTimeBetweenEvictionRuns(options.evictionInterval());
        config.setEvictionPolicy(new BusyAwareEvictionPolicy());
        config.setJmxEnabled(false);
        this.pool = new GenericObjectPool<>(factory, config);
        this.shared = new SharedConnections(factory, options.maxConnections());
    }

    /**
     * Creates the pool; {@link PoolOptions#minIdle()} connections open in the background (calls
     * made meanwhile wait for the first, within their deadlines). Never waits for the network.
     */
    public static ConnectionPool create(InetSocketAddress address, PoolOptions options,
            ConnectionOptions connectionOptions, TransportResources resources, PoolListener listener) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(connectionOptions, "connectionOptions");
        Objects.requireNonNull(resources, "resources");
        ConnectionPool p = new ConnectionPool(address, options, connectionOptions, resources,
                listener == null ? PoolListener.NONE : listener, null, EndpointEvents.NONE);
        p.connector.request();
        return p;
    }

    /**
     * A pool for one endpoint of a {@link Fleet}: retries draw on the fleet's {@code budget}, and
     * the endpoint's connection events go to {@code events}.
     */
    static ConnectionPool member(InetSocketAddress address, PoolOptions options, ConnectionOptions connectionOptions,
            TransportResources resources, PoolListener listener, RetryBudget budget, EndpointEvents events) {
        ConnectionPool p = new ConnectionPool(address, options, connectionOptions, resources, listener, budget, events);
        p.connector.request();
        return p;
    }

    /**
     * For a fleet member with no open connection: opens one in the background (one attempt at a
     * time, behind the backoff), so the balancer can tell the endpoint is up before sending it
     * calls. Never waits.
     */
    void warm() {
        if (!closed && !ready()) {
            connector.grow();
        }
    }

    /** The endpoint's address. */
    InetSocketAddress address() {
        return factory.address();
    }

    /**
     * Whether a call would go out at once: the pool holds an open connection, within its lifetime
     * and not draining. Costs no I/O and takes no lock.
     */
    boolean ready() {
        return shared.anyOpen();
    }

    /**
     * Sends a request on a pooled connection and returns its reply payload.
     *
     * <p>The calling thread may wait for a free connection (never past the deadline); the reply is
     * awaited asynchronously. The returned future ends with exactly one outcome.
     *
     * @param completion where the future completes; {@code null} completes it directly on a
     *                   transport thread (for callers that block on it)
     */
    public CompletableFuture<byte[]> call(String op, byte[] body, Deadline deadline, Executor completion) {
        return call(op, body, Metadata.EMPTY, deadline, completion);
    }

    /**
     * {@link #call(String, byte[], Deadline, Executor)} with metadata, sent with every attempt (see
     * {@link dev.tidewire.transport.Connection#call(String, byte[], Metadata, Deadline, Executor)}).
     */
    public CompletableFuture<byte[]> call(String op, byte[] body, Metadata metadata, Deadline deadline,
            Executor completion) {
        PoolCall result = new PoolCall(java.util.Objects.requireNonNull(metadata, "metadata"), true);
        retryBudget.onCall();
        attempt(result, op, body, deadline, completion, 1);
        return result;
    }

    /**
     * One attempt, for a {@link Fleet} that makes its retries itself (on other endpoints): like
     * {@link #call(String, byte[], Metadata, Deadline, Executor)}, but a call that was not
     * processed or found no connection fails with that error instead of being sent again here.
     * It still waits for a connect under way, within its deadline. Completes on a transport
     * thread. Does not count the call for the retry budget (the fleet does).
     */
    CompletableFuture<byte[]> attemptOnce(String op, byte[] body, Metadata metadata, Deadline deadline) {
        PoolCall result = new PoolCall(metadata, false);
        attempt(result, op, body, deadline, null, 1);
        return result;
    }

    private void attempt(PoolCall result, String op, byte[] body, Deadline deadline, Executor completion, int attemptNo) {
        if (result.isDone()) {
            return; // cancelled by the caller between attempts
        }
        CompletableFuture<byte[]> reply;
        try {
            boolean onLoop = NettyRuntime.onEventLoop();
            PooledConnection pooled = pickShared(op, !onLoop);
            if (pooled != null) {
                // the pool is full (or we are on an event loop): a shared connection, no lease
                reply = pooled.connection().enqueue(op, body, result.metadata(), deadline, null);
            } else if (onLoop) {
                // an event loop must not wait at the gate or for a connect: borrow elsewhere
                handOff(result, op, body, deadline, completion, attemptNo);
                return;
            } else {
                PooledConnection lease = null;
                try {
                    lease = borrow(op, deadline);
                } catch (Connector.Pending connecting) {
                    // no idle connection and a connect under way: send on any open one meanwhile,
                    // or wait for the connect (within the deadline) without holding a thread
                    pooled = pickShared(op, false);
                    if (pooled == null) {
                        awaitConnect(result, connecting.attempt(), op, body, deadline, completion, attemptNo);
                        return;
                    }
                }
                if (lease != null) {
                    pooled = lease;
                    try {
                        // Under the lease only queue the request; the event loop writes it after the
                        // connection is back in the pool, so leases last well under a microsecond.
                        reply = lease.connection().enqueue(op, body, result.metadata(), deadline, null);
                    } finally {
                        giveBack(lease);
                    }
                } else {
                    reply = pooled.connection().enqueue(op, body, result.metadata(), deadline, null);
                }
            }
            pooled.connection().flush(); // deferred to the end of the block inside batch()
        } catch (TidewireException e) {
            if (e instanceof ClientClosedException && redirected(result, op, body, deadline, completion)) {
                // the pool was drained for its fleet (before or during this attempt, which every
                // closed pool refuses with ClientClosedException before sending): not sent here
                return;
            }
            retryOrFail(result, e, op, body, deadline, completion, attemptNo);
            return;
        }
        result.attempt(reply);
        reply.whenComplete((value, error) -> {
            if (error == null) {
                complete(result, value, null, completion);
                return;
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof TidewireException t) {
                retryOrFail(result, t, op, body, deadline, completion, attemptNo);
            } else {
                complete(result, null, cause, completion);
            }
        });
    }

    /**
     * If this pool's endpoint has left its fleet, sends the call (which was not sent here) through
     * the fleet, or, for the fleet's own single attempt, ends it with {@link NotProcessedException}
     * so the fleet sends it elsewhere; returns whether it did.
     */
    private boolean redirected(PoolCall result, String op, byte[] body, Deadline deadline, Executor completion) {
        Resend elsewhere = redirect;
        if (elsewhere == null) {
            return false;
        }
        if (result.retries()) {
            CompletableFuture<byte[]> resent = elsewhere.send(op, body, result.metadata(), deadline);
            result.attempt(resent);
            resent.whenComplete((v, e) -> complete(result, v,
                    e instanceof CompletionException && e.getCause() != null ? e.getCause() : e, completion));
        } else {
            complete(result, null, new NotProcessedException("op '" + op + "' was not sent: endpoint "
                    + factory.address() + " has left the fleet", null), completion);
        }
        return true;
    }

    /** Sends the call again if it certainly was not processed and time allows; else ends it with {@code e}. */
    private void retryOrFail(PoolCall result, TidewireException e, String op, byte[] body, Deadline deadline,
            Executor completion, int attemptNo) {
        boolean safe = e instanceof NotProcessedException || e instanceof ConnectFailedException;
        int notProcessed = e instanceof NotProcessedException ? result.notProcessedAgain() : 0;
        if (safe && result.retries() && attemptNo < MAX_ATTEMPTS && notProcessed < MAX_NOT_PROCESSED && (!closed || redirect != null) && !result.isDone()) {
            long delay = e instanceof ConnectFailedException ? connectRetryDelayNanos()
                    : notProcessedDelayNanos(notProcessed);
            if (deadline.remainingNanos() > delay) {
                if (!retryBudget.tryRetry()) {
                    complete(result, null, withBudgetNote(e), completion);
                    return;
                }
                if (runElsewhere(result, op, body, deadline, completion, attemptNo + 1, delay, e)) {
                    return;
                }
            }
        }
        complete(result, null, e, completion);
    }

    /**
     * The pause before a call that found the pool backing off tries again: until the backoff
     * allows the next attempt, plus up to 1/8 of that (at most 100 ms) at random, so the callers
     * turned away do not all come back at one instant; by then the {@link Connector} has started
     * the attempt in the background, and they wait for it.
     */
    long connectRetryDelayNanos() {
        long wait = Math.max(TimeUnit.MILLISECONDS.toNanos(1), connector.backoffNanos());
        long spread = Math.min(TimeUnit.MILLISECONDS.toNanos(100), Math.max(1, wait / 8));
        return wait + java.util.concurrent.ThreadLocalRandom.current().nextLong(spread);
    }

    private TidewireException withBudgetNote(TidewireException e) {
        retryBudgetExhausted.incrementAndGet();
        e.addSuppressed(new RetryBudget.Exhausted("not retried: the client's retry budget is spent ("
                + retryBudget + ")"));
        return e;
    }

    /**
     * Waits for {@code connecting} without holding a thread, then makes attempt {@code attemptNo + 1};
     * if the call's deadline comes first, the call fails with {@link ConnectFailedException} (the
     * attempt goes on in the background and its connection joins the pool).
     */
    private void awaitConnect(PoolCall result, Connector.Attempt connecting, String op, byte[] body,
            Deadline deadline, Executor completion, int attemptNo) {
        if (attemptNo >= MAX_ATTEMPTS) {
            complete(result, null, new ConnectFailedException("no connection to " + factory.address()
                    + " after " + attemptNo + " attempts", null), completion);
            return;
        }
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        waitingRetry.put(result, new ClientClosedException("op '" + op + "' refused: the connection pool closed"
                + " while the call waited for a connection (it had not been sent)"));
        java.util.concurrent.ScheduledFuture<?> timer;
        try {
            timer = resources.schedule(() -> {
                if (once.compareAndSet(false, true) && waitingRetry.remove(result) != null) {
                    complete(result, null, new ConnectFailedException("no connection to " + factory.address()
                            + " for op '" + op + "' within the call's deadline (" + deadline.limit().toMillis()
                            + " ms): a connect attempt has been under way for "
                            + TimeUnit.NANOSECONDS.toMillis(connecting.ageNanos()) + " ms (connect timeout "
                            + connectTimeoutMillis + " ms) and goes on in the background", null), completion);
                }
            }, Duration.ofNanos(Math.max(1, deadline.remainingNanos())));
        } catch (RejectedExecutionException shuttingDown) {
            waitingRetry.remove(result);
            complete(result, null, new ClientClosedException("op '" + op + "' refused: the transport is closed"),
                    completion);
            return;
        }
        connecting.settled().thenRun(() -> {
            if (once.compareAndSet(false, true)) {
                // the timer would hold the call, its body included, until its deadline (which may be minutes away)
                timer.cancel(false);
                TidewireException ifClosed = waitingRetry.remove(result); // null: closed meanwhile
                if (ifClosed != null) {
                    if (!runElsewhere(result, op, body, deadline, completion, attemptNo + 1, 0, ifClosed)) {
                        complete(result, null, ifClosed, completion);
                    }
                }
            }
        });
    }

    /**
     * The pause before resending a call after its {@code n}-th {@link NotProcessedException}:
     * 1 ms doubling per answer up to 50 ms, with equal jitter (half to all of it), so the callers a
     * GOAWAY or a refusing server turned away do not all come back at the same instant.
     */
    static long notProcessedDelayNanos(int n) {
        long least = notProcessedDelayNanosAtLeast(n);
        return least + (long) (least * java.util.concurrent.ThreadLocalRandom.current().nextDouble());
    }

    /** The shortest pause {@link #notProcessedDelayNanos} may give: half the nominal one. */
    static long notProcessedDelayNanosAtLeast(int n) {
        return Math.min(MAX_NOT_PROCESSED_DELAY_NANOS, TimeUnit.MILLISECONDS.toNanos(1) << Math.min(20, n - 1)) / 2;
    }

    /**
     * Makes attempt {@code attemptNo} on the callback pool after {@code delayNanos} (0: now), never
     * on a transport thread: borrowing may wait. Tracked until it runs, so closing the pool can end
     * the call with {@code ifClosed} when the attempt never will.
     *
     * @return false if the attempt cannot be scheduled (shutting down)
     */
    private boolean runElsewhere(PoolCall result, String op, byte[] body, Deadline deadline, Executor completion,
            int attemptNo, long delayNanos, TidewireException ifClosed) {
        Runnable again = () -> {
            try {
                attempt(result, op, body, deadline, completion, attemptNo);
            } catch (RuntimeException | Error unexpected) {
                complete(result, null, unexpected, completion); // never leave the caller waiting
            }
        };
        waitingRetry.put(result, ifClosed);
        Runnable handOff = () -> {
            if (waitingRetry.remove(result) == null) {
                return; // ended by close meanwhile
            }
            try {
                retryExecutor.execute(again);
            } catch (RejectedExecutionException rejected) {
                complete(result, null, ifClosed, completion);
            }
        };
        try {
            if (delayNanos == 0) {
                handOff.run();
            } else {
                resources.schedule(handOff, Duration.ofNanos(delayNanos));
            }
            return true;
        } catch (RejectedExecutionException rejected) {
            waitingRetry.remove(result); // shutting down: report the error we have
            return false;
        }
    }

    /** An attempt an event loop may not make (it may wait): made on the callback pool instead. */
    private void handOff(PoolCall result, String op, byte[] body, Deadline deadline, Executor completion,
            int attemptNo) {
        ClientClosedException ifClosed = new ClientClosedException("op '" + op
                + "' refused: the connection pool closed before it was sent");
        if (!runElsewhere(result, op, body, deadline, completion, attemptNo, 0, ifClosed)) {
            complete(result, null, ifClosed, completion);
        }
    }

    private void complete(PoolCall result, byte[] value, Throwable error, Executor completion) {
        Completions.complete(result, value, error, completion, retryExecutor, "a pooled call");
    }

    /**
     * A connection to send on without a lease when the pool holds all {@code maxConnections}
     * connections, or null (then the caller borrows). A picked connection that is no longer usable
     * (draining, closed, past its lifetime) sends its caller to the borrow path, whose validation
     * retires it without waiting for the evictor; a replacement then opens in the background.
     */
    private PooledConnection pickShared(String op, boolean requireFull) {
        if (closed) {
            throw new ClientClosedException("op '" + op + "' refused: the connection pool is closed");
        }
        PooledConnection picked = shared.pick(requireFull);
        if (picked == null) {
            return null;
        }
        if (!requireFull && shared.pick() == null) {
            grow(); // an event loop sends on what is open; the pool fills up in the background
        }
        long now = System.nanoTime();
        if (factory.usable(picked, now)) {
            picked.touch(now);
            return picked;
        }
        // Borrow instead: commons-pool2 validates what it lends (FIFO, so within a few borrows it
        // reaches this one), destroys it, and the destroy schedules a replacement.
        return null;
    }

    /**
     * Passes events on to {@code listener}, and replaces a connection retired at the end of its
     * lifetime at once, in the background: otherwise a pool whose callers never find every
     * connection leased at one instant (the shared path, or a single caller) would shrink for
     * good, one retirement at a time. Broken connections are not replaced here: the server may
     * be down, and connects then belong behind the backoff, made by calls within their deadlines.
     */
    private PoolListener replacing(PoolListener listener) {
        return new PoolListener() {
            @Override
            public void connectionCreated() {
                listener.connectionCreated();
                events.connected();
            }

            @Override
            public void connectFailed() {
                listener.connectFailed();
            }

            @Override
            public void connectionDestroyed(DestroyReason reason) {
                listener.connectionDestroyed(reason);
                if ((reason == DestroyReason.LIFETIME || reason == DestroyReason.UNRESPONSIVE) && !closed) {
                    // commons-pool2 frees the slot only after destroyObject returns: replace a moment later
                    try {
                        resources.schedule(ConnectionPool.this::grow, REPLACE_DELAY);
                    } catch (RejectedExecutionException e) {
                        // shutting down
                    }
                }
            }

            @Override
            public void borrowed(long waitNanos) {
                listener.borrowed(waitNanos);
            }
        };
    }

    /**
     * Opens one more connection in the background (one attempt at a time, behind the backoff):
     * for calls from event loops (which never borrow) that find the pool not yet full, and to
     * replace a connection retired at the end of its lifetime.
     */
    private void grow() {
        if (!closed) {
            connector.grow();
        }
    }

    /** Puts a connection the connector opened into the pool (commons-pool2 counts it); on the callback pool. */
    private void adopt(Connection c) {
        factory.adopt(c, () -> {
            pool.addObject();
            return null;
        });
    }

    /**
     * Whether the pool has fewer live connections than it needs: its {@code minIdle}, and at least
     * one while a connection was lost within the last {@code idleTimeout} (a pool in use that
     * broke reconnects in the background, without waiting for a call to come by).
     */
    private boolean wanted() {
        if (closed) {
            return false;
        }
        int live = factory.pooled().size();
        boolean recentlyLost = System.nanoTime() - lastLostNanos < options.idleTimeout().toNanos();
        return live < Math.max(options.minIdle(), recentlyLost ? 1 : 0);
    }

    /**
     * A pooled connection closed on its own (the peer went away, a heartbeat or a protocol error
     * failed it): it leaves the pool now, freeing its slot for a new one, rather than when a borrow
     * next validates it; then the connector reconnects in the background. Any thread.
     */
    private void lost(PooledConnection p) {
        RuntimeException reason = p.connection().closeReason();
        if (!(reason instanceof NotProcessedException) && !(reason instanceof ClientClosedException)) {
            events.connectionLost(); // not a drain after GOAWAY, nor our own close
        } else if (reason instanceof NotProcessedException) {
            connector.serverWentAway(); // a restart: failing to reconnect for a while is no news
        }
        long now = System.nanoTime();
        lastLostNanos = now;
        if (now - p.openedNanos() < SHORT_LIVED_NANOS) {
            RuntimeException why = p.connection().closeReason();
            connector.brokeSoonAfterOpening("a connection broke " + TimeUnit.NANOSECONDS.toMillis(now - p.openedNanos())
                    + " ms after it opened" + (why == null ? "" : ": " + why.getMessage()));
        }
        try {
            retryExecutor.execute(() -> {
                try {
                    pool.invalidateObject(p);
                } catch (Exception e) {
                    // already destroyed, or the pool closed
                }
                connector.request();
            });
        } catch (RejectedExecutionException shuttingDown) {
            // nothing to reconnect
        }
    }

    /** Borrows a connection, waiting (fairly) at most until the deadline. */
    private PooledConnection borrow(String op, Deadline deadline) {
        if (closed) {
            throw new ClientClosedException("op '" + op + "' refused: the connection pool is closed");
        }
        long start = System.nanoTime();
        try {
            if (!permits.tryAcquire()) {
                // inside batch(): what the block queued so far goes out before this thread waits
                WriteBatch.beforeBlocking();
                if (!permits.tryAcquire(Math.max(0, deadline.remainingNanos(start)), TimeUnit.NANOSECONDS)) {
                    throw exhausted(op, deadline, start);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CancellationException cancelled = new CancellationException("op '" + op
                    + "' cancelled: interrupted while waiting for a pooled connection");
            cancelled.initCause(e);
            throw cancelled;
        }
        PooledConnection pooled;
        try {
            // never waits for a connect: with no idle connection, makeObject throws Connector.Pending
            pooled = borrowObject(deadline);
        } catch (TidewireException | Connector.Pending e) {
            permits.release();
            throw e;
        } catch (NoSuchElementException e) {
            permits.release();
            if (e.getCause() instanceof TidewireException t) {
                throw t;
            }
            throw exhausted(op, deadline, start);
        } catch (IllegalStateException e) {
            permits.release();
            throw new ClientClosedException("op '" + op + "' refused: the connection pool is closed");
        } catch (RuntimeException e) {
            permits.release();
            throw new ConnectFailedException("cannot get a connection to " + factory.address() + ": " + e, e);
        }
        listener.borrowed(System.nanoTime() - start);
        return pooled;
    }

    /** {@code borrowObject} with checked exceptions passed on unchanged when unchecked, else wrapped. */
    private PooledConnection borrowObject(Deadline deadline) {
        try {
            return pool.borrowObject(Duration.ofNanos(Math.max(1, deadline.remainingNanos())));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new ConnectFailedException("cannot get a connection to " + factory.address() + ": " + e, e);
        }
    }

    /**
     * To be called before the calling thread blocks (e.g. a blocking call waiting for its reply):
     * inside {@link #batch}, sends the requests the block has queued so far, so the reply being
     * waited for is not held back by the wait itself. Elsewhere a no-op.
     */
    public static void beforeBlocking() {
        WriteBatch.beforeBlocking();
    }

    /**
     * Runs {@code calls} on this thread as one batch: the requests they queue are flushed once
     * per connection when it returns (or throws). Leases are still returned call by call (the
     * block runs application code, and must not hold a permit meanwhile). Nested batches join
     * the outer one.
     */
    public static void batch(Runnable calls) {
        WriteBatch.run(calls);
    }

    private void giveBack(PooledConnection pooled) {
        try {
            pool.returnObject(pooled);
        } catch (IllegalStateException e) {
            // returned twice or pool closed: nothing more to do
        } finally {
            permits.release();
        }
    }

    private PoolExhaustedException exhausted(String op, Deadline deadline, long start) {
        long now = System.nanoTime();
        long age = deadline.limit().toNanos() - deadline.remainingNanos(now);
        return new PoolExhaustedException("no pooled connection to " + factory.address() + " for op '" + op
                + "': waited " + TimeUnit.NANOSECONDS.toMillis(now - start) + " ms at the pool's gate, "
                + TimeUnit.NANOSECONDS.toMillis(age) + " ms into the call (call timeout "
                + deadline.limit().toMillis() + " ms)", pool.getNumActive(), pool.getNumIdle(),
                permits.getQueueLength() + 1);
    }

    /** A snapshot of the pool's counts. */
    public PoolStats stats() {
        int inFlight = 0;
        for (Connection c : factory.openConnections()) {
            inFlight += c.inFlight();
        }
        return new PoolStats(pool.getNumActive(), pool.getNumIdle(), permits.getQueueLength(),
                factory.openConnections().size(), factory.created(), factory.destroyed(), inFlight,
                factory.lateResponses());
    }

    /** The settings. */
    public PoolOptions options() {
        return options;
    }

    /** Connect attempts made so far (attempts skipped while backing off are not counted). */
    public long connectAttempts() {
        return connector.attempts();
    }

    /** Retries refused so far because the retry budget was spent (see {@link PoolOptions#retryBudgetRatio()}). */
    public long retriesRefusedByBudget() {
        return retryBudgetExhausted.get();
    }

    /**
     * Graceful close: new calls are refused, idle and busy connections alike drain (their calls
     * run to completion) and close; whatever is still open after {@code grace} is closed at once,
     * failing its calls with {@link ClientClosedException}. Idempotent. Called on an event loop
     * (which must not wait), it returns at once and the close goes on in a thread of its own.
     */
    public void close(Duration grace) {
        closed = true;
        connector.close();
        if (NettyRuntime.onEventLoop()) {
            NettyRuntime.runOffLoop("tidewire-pool-close", () -> close(grace));
            return;
        }
        List<CompletableFuture<Void>> closing = stop(Connection::shutdown);
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(grace.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // grace period over
        }
        closeNow();
    }

    /**
     * Graceful close that never waits: new calls are refused, every connection drains, and the
     * returned future completes once all have closed, or after {@code grace} (then what is left is
     * closed at once, as {@link #closeNow()}). For a {@link Fleet} removing an endpoint: calls that
     * reach this pool afterwards (they chose it just before) go to {@code redirect} if they are the
     * pool's own calls, and fail with {@link NotProcessedException} if they are the fleet's single
     * attempts (the fleet sends those elsewhere); null when the whole fleet closes.
     */
    CompletableFuture<Void> drain(Duration grace, Resend redirect) {
        this.redirect = redirect;
        List<CompletableFuture<Void>> closing = stop(Connection::shutdown);
        CompletableFuture<Void> over = new CompletableFuture<>();
        CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> over.complete(null));
        try {
            java.util.concurrent.ScheduledFuture<?> timer = resources.schedule(() -> over.complete(null), grace);
            over.whenComplete((v, e) -> timer.cancel(false));
        } catch (RejectedExecutionException shuttingDown) {
            over.complete(null);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        over.whenComplete((v, e) -> NettyRuntime.runOffLoop("tidewire-pool-drain", () -> {
            try {
                closeNow();
            } finally {
                done.complete(null);
            }
        }));
        return done;
    }

    /**
     * Refuses new calls, stops connecting, closes commons-pool2, and applies {@code each} (a
     * graceful shutdown or a close) to every open connection; returns a future per connection that
     * completes when it has left the pool. Never waits. Idempotent.
     */
    private List<CompletableFuture<Void>> stop(java.util.function.Consumer<Connection> each) {
        closed = true;
        connector.close();
        factory.closing();
        pool.close();
        List<CompletableFuture<Void>> gone = new ArrayList<>();
        for (Connection c : factory.openConnections()) {
            each.accept(c);
            gone.add(factory.gone(c));
        }
        return gone;
    }

    /** Closes every connection at once; calls in flight fail with {@link ClientClosedException}. Idempotent. */
    public void closeNow() {
        List<CompletableFuture<Void>> gone = stop(Connection::close);
        if (!NettyRuntime.onEventLoop()) {
            try {
                // the loops finish each close at once; this only lets the bookkeeping catch up
                CompletableFuture.allOf(gone.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // best effort
            }
        }
        if (redirect != null) {
            return; // calls waiting for a retry go to the fleet when their pause ends
        }
        for (PoolCall call : waitingRetry.keySet()) {
            if (waitingRetry.remove(call) != null) {
                call.completeExceptionally(new ClientClosedException("the connection pool was closed while the call"
                        + " waited to be retried (it had not been processed)"));
            }
        }
    }

    /** {@link #close(Duration)} with a 5 s grace period. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
