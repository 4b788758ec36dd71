package dev.tidewire.pool;

import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.Metadata;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.internal.RetryBudget;
import dev.tidewire.pool.internal.fleet.Balancer;
import dev.tidewire.pool.internal.fleet.EndpointHealth;
import dev.tidewire.pool.internal.fleet.EndpointLoad;
import dev.tidewire.pool.internal.fleet.OutlierDetector;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import dev.tidewire.transport.internal.RateLimitedLog;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls across many endpoints: one {@link ConnectionPool} per endpoint an
 * {@link EndpointResolver} reports, a balancer choosing the endpoint of each call, outlier
 * ejection, and retries on other endpoints within a client-wide budget (docs/fleet.md).
 *
 * <pre>{@code
 * try (Fleet fleet = Fleet.create(DnsEndpointResolver.forName("api.internal", 7000).build(),
 *         FleetOptions.defaults(), PoolOptions.defaults(), ConnectionOptions.defaults(), resources,
 *         PoolListener.NONE, FleetListener.NONE)) {
 *     byte[] reply = fleet.call("echo", body, Metadata.EMPTY, Deadline.after(Duration.ofSeconds(2)),
 *             false, null, null).join();
 * }
 * }</pre>
 *
 * <p><b>Membership.</b> Each set the resolver reports replaces the previous one: a pool opens for
 * each new endpoint (it connects at once, in the background, and takes a growing share of calls
 * over {@link FleetOptions#slowStart()} when it joins a fleet already serving); a removed
 * endpoint's pool drains (no new calls, calls in flight finish, at most
 * {@link FleetOptions#drainTimeout()}) and closes. A failure to resolve keeps the endpoints the
 * fleet has. Membership changes are serialized on the fleet; calls read an immutable array.
 *
 * <p><b>One endpoint costs nothing.</b> With a single endpoint, a call that is neither idempotent
 * nor hedged goes straight to that endpoint's pool, which retries what was not processed itself
 * (as a single-address client always has), drawing on the same budget. Every other call is a
 * {@link FleetCall}: candidates, balancer, one attempt per endpoint, retries elsewhere.
 *
 * <p><b>Threads.</b> No method waits for the network. Resolver callbacks, connection events and
 * attempt completions run on transport or callback threads and only count and decide; retries
 * start on the callback pool after their backoff; the success-rate evaluation runs on a transport
 * timer every {@link FleetOptions#evaluationInterval()}. Only {@link #close(Duration)} waits, for
 * calls in flight to finish, at most its grace period.
 */
public final class Fleet implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Fleet.class.getName());
    private static final FleetMember[] NONE = new FleetMember[0];

    private final EndpointResolver resolver;
    private final FleetOptions fleetOptions;
    private final PoolOptions poolOptions;
    private final ConnectionOptions connectionOptions;
    private final TransportResources resources;
    private final PoolListener poolListener;
    private final FleetListener listener;
    private final RetryBudget budget;
    private final OutlierDetector detector;
    private final Balancer balancer;
    private final long slowStartNanos;
    private final Map<InetSocketAddress, FleetMember> byAddress = new LinkedHashMap<>(); // guarded by this
    private final Set<ConnectionPool> draining = ConcurrentHashMap.newKeySet();
    private final Set<FleetCall> waiting = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Void> firstEndpoints = new CompletableFuture<>();
    private final AtomicLong retriesRefused = new AtomicLong();
    private volatile ScheduledFuture<?> evaluator;
    private volatile FleetMember[] members = NONE;
    private volatile Throwable lastResolveError;
    // resolver failures: the first a WARNING, repeats at DEBUG and summarized once per window
    private final RateLimitedLog resolveFailures = new RateLimitedLog(LOG);
    private volatile boolean closed;

    private Fleet(EndpointResolver resolver, FleetOptions fleetOptions, PoolOptions poolOptions,
            ConnectionOptions connectionOptions, TransportResources resources, PoolListener poolListener,
            FleetListener listener) {
        this.resolver = resolver;
        this.fleetOptions = fleetOptions;
        this.poolOptions = poolOptions;
        this.connectionOptions = connectionOptions;
        this.resources = resources;
        this.poolListener = poolListener;
        this.listener = listener;
        this.budget = new RetryBudget(poolOptions.retryBudgetRatio(), poolOptions.retryBudgetMinPerSecond());
        this.slowStartNanos = fleetOptions.slowStart().toNanos();
        this.detector = new OutlierDetector(fleetOptions.consecutiveFailures(), fleetOptions.successRateMinVolume(),
                fleetOptions.successRateRatio(), fleetOptions.baseEjectionTime().toNanos(),
                fleetOptions.maxEjectionTime().toNanos(), fleetOptions.maxEjectedShare(), slowStartNanos);
        this.balancer = fleetOptions.balancing() == FleetOptions.Balancing.ROUND_ROBIN ? Balancer.roundRobin()
                : Balancer.LEAST_LOADED;
    }

    /**
     * Creates the fleet and starts {@code resolver}; returns at once (pools open in the background,
     * and calls made before the first endpoints are known wait for them within their deadlines).
     * The fleet owns the resolver and closes it.
     *
     * @param poolOptions applied to every endpoint's pool; its retry budget is the fleet's, shared
     */
    public static Fleet create(EndpointResolver resolver, FleetOptions fleetOptions, PoolOptions poolOptions,
            ConnectionOptions connectionOptions, TransportResources resources, PoolListener poolListener,
            FleetListener listener) {
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(fleetOptions, "fleetOptions");
        Objects.requireNonNull(poolOptions, "poolOptions");
        Objects.requireNonNull(connectionOptions, "connectionOptions");
        Objects.requireNonNull(resources, "resources");
        Fleet fleet = new Fleet(resolver, fleetOptions, poolOptions, connectionOptions, resources,
                poolListener == null ? PoolListener.NONE : poolListener, listener == null ? FleetListener.NONE : listener);
        fleet.scheduleEvaluation();
        try {
            resolver.start(fleet.new Updates());
        } catch (RuntimeException e) {
            fleet.closeNow();
            throw e;
        }
        return fleet;
    }

    /**
     * Sends a request to an endpoint of the fleet and returns its reply payload. Never waits for
     * the network; the future ends with exactly one outcome, by the deadline.
     *
     * @param idempotent  whether the call may be sent again after an outcome that leaves unknown
     *                    whether it was processed (a lost connection), and hedged
     * @param hedgeAfter  for an idempotent call: send a second copy to another endpoint if no reply
     *                    came within this time (null: no hedge); the first reply wins
     * @param completion  where the future completes; null: directly on a transport thread
     */
    public CompletableFuture<byte[]> call(String op, byte[] body, Metadata metadata, Deadline deadline,
            boolean idempotent, Duration hedgeAfter, Executor completion) {
        FleetMember[] m = members;
        if (m.length == 1 && !idempotent && hedgeAfter == null) {
            return m[0].pool().call(op, body, metadata, deadline, completion);
        }
        if (closed) {
            CompletableFuture<byte[]> refused = new CompletableFuture<>();
            refused.completeExceptionally(new ClientClosedException("op '" + op + "' refused: the client is closed"));
            return refused;
        }
        budget.onCall();
        long hedgeNanos = idempotent && hedgeAfter != null ? Math.max(1, hedgeAfter.toNanos()) : 0;
        FleetCall call = new FleetCall(this, op, body, metadata, deadline, idempotent, hedgeNanos,
                completion);
        if (m.length == 0) {
            awaitEndpoints(call);
        } else {
            call.start();
        }
        return call;
    }

    /** The calls made before the first endpoints are known wait here, within their deadlines. */
    private void awaitEndpoints(FleetCall call) {
        waiting.add(call);
        ScheduledFuture<?> timer;
        try {
            timer = resources.schedule(() -> {
                if (waiting.remove(call)) {
                    Throwable why = lastResolveError;
                    call.fail(new ConnectFailedException("no endpoint of " + resolver + " is known yet for op '"
                            + call.op() + "' within the call's deadline (" + call.deadline().limit().toMillis() + " ms)"
                            + (why == null ? ": the resolver has not answered" : ": " + why.getMessage()), why));
                }
            }, Duration.ofNanos(Math.max(1, call.deadline().remainingNanos())));
        } catch (RejectedExecutionException shuttingDown) {
            waiting.remove(call);
            call.fail(new ClientClosedException("op '" + call.op() + "' refused: the transport is closed"));
            return;
        }
        firstEndpoints.thenRun(() -> {
            if (waiting.remove(call)) {
                timer.cancel(false);
                try {
                    resources.callbackExecutor().execute(call::start);
                } catch (RejectedExecutionException e) {
                    call.fail(new ClientClosedException("op '" + call.op() + "' refused: the client is closed"));
                }
            }
        });
    }

    // ------------------------------------------------------------------ membership

    /** What the resolver reports; serialized on the fleet. */
    private final class Updates implements EndpointResolver.Listener {
        @Override
        public void onEndpoints(List<Endpoint> endpoints) {
            if (endpoints == null || endpoints.isEmpty()) {
                onError(new IllegalStateException(resolver + " reported no endpoints; keeping the "
                        + members.length + " the client has"));
                return;
            }
            resolveFailures.recovered("resolve " + resolver, "resolved " + resolver);
            update(endpoints);
        }

        @Override
        public void onError(Throwable error) {
            lastResolveError = error;
            resolveFailures.failure(System.Logger.Level.WARNING, "resolve " + resolver, () -> "resolving " + resolver
                    + " failed (keeping " + members.length + " endpoints): " + error.getMessage(), null);
        }
    }

    private void update(List<Endpoint> endpoints) {
        List<Runnable> after = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            Map<InetSocketAddress, Endpoint> wanted = new LinkedHashMap<>();
            for (Endpoint e : endpoints) {
                wanted.putIfAbsent(e.address(), e);
            }
            long now = System.nanoTime();
            boolean serving = !byAddress.isEmpty();
            double initialLatency = meanLatency();
            for (var it = byAddress.entrySet().iterator(); it.hasNext(); ) {
                var entry = it.next();
                if (!wanted.containsKey(entry.getKey())) {
                    it.remove();
                    FleetMember gone = entry.getValue();
                    after.add(() -> drain(gone));
                }
            }
            for (Endpoint e : wanted.values()) {
                FleetMember existing = byAddress.get(e.address());
                if (existing != null) {
                    existing.update(e);
                    continue;
                }
                FleetMember m = newMember(e, initialLatency, now);
                if (serving) {
                    m.health().load().warmUp(now, slowStartNanos);
                }
                byAddress.put(e.address(), m);
                after.add(() -> listener.endpointAdded(e, () -> m.stats(slowStartNanos)));
            }
            FleetMember[] next = byAddress.values().toArray(NONE);
            Arrays.sort(next, Comparator.comparing(m -> m.endpoint().label()));
            members = next;
            if (next.length > 1) {
                for (FleetMember m : next) {
                    m.pool().warm(); // the balancer sends calls to endpoints with a connection open
                }
            }
        }
        after.forEach(Runnable::run);
        firstEndpoints.complete(null);
    }

    private double meanLatency() {
        double sum = 0;
        for (FleetMember m : byAddress.values()) {
            sum += m.health().load().latencyNanos();
        }
        return byAddress.isEmpty() ? TimeUnit.MILLISECONDS.toNanos(1) : sum / byAddress.size();
    }

    private FleetMember newMember(Endpoint e, double initialLatency, long now) {
        EndpointHealth health = new EndpointHealth(new EndpointLoad(e.priority(), e.weight(), initialLatency, now));
        FleetMember[] self = new FleetMember[1];
        ConnectionPool pool = ConnectionPool.member(e.address(), poolOptions, connectionOptions, resources, poolListener,
                budget, new dev.tidewire.pool.internal.EndpointEvents() {
                    @Override
                    public void connected() {
                        health.connected();
                    }

                    @Override
                    public void connectAttemptFailed() {
                        connectionFailed(self[0]);
                    }

                    @Override
                    public void connectionLost() {
                        connectionFailed(self[0]);
                    }
                });
        self[0] = new FleetMember(e, pool, health);
        return self[0];
    }

    /** A failed connect or a lost connection of {@code m}: may eject it; asks the resolver to look again. */
    private void connectionFailed(FleetMember m) {
        if (m == null || closed) {
            return;
        }
        int run = m.health().connectionFailure();
        List<EndpointHealth> fleet = healthOf(members);
        OutlierDetector.Ejection e = detector.onConnectionFailure(m.health(), run, fleet, System.nanoTime(),
                ThreadLocalRandom.current());
        if (e != null) {
            ejected(m, e);
        }
        resolver.refresh();
    }

    private void ejected(FleetMember m, OutlierDetector.Ejection e) {
        Duration d = Duration.ofNanos(e.nanos());
        LOG.log(System.Logger.Level.WARNING, () -> "endpoint " + m.endpoint().label() + " ejected for " + d.toMillis()
                + " ms: " + reasonText(e.reason()));
        listener.endpointEjected(m.endpoint(), e.reason().name().toLowerCase(java.util.Locale.ROOT), d);
    }

    private static String reasonText(OutlierDetector.Reason reason) {
        return reason == OutlierDetector.Reason.CONSECUTIVE_FAILURES ? "failed connects or lost connections in a row"
                : "success rate far below the rest of the fleet's";
    }

    private void scheduleEvaluation() {
        if (closed) {
            return;
        }
        try {
            evaluator = resources.schedule(() -> {
                try {
                    evaluate();
                } finally {
                    scheduleEvaluation();
                }
            }, fleetOptions.evaluationInterval());
        } catch (RejectedExecutionException shuttingDown) {
            // the transport is closing: nothing more to evaluate
        }
    }

    /** Every evaluation interval, on a transport timer: success-rate ejection. */
    private void evaluate() {
        FleetMember[] m = members;
        if (closed || m.length < 2) {
            return;
        }
        long now = System.nanoTime();
        List<OutlierDetector.Ejection> ejections = detector.evaluate(healthOf(m), now, ThreadLocalRandom.current());
        for (FleetMember member : m) {
            if (!member.health().ejected(now, slowStartNanos)) {
                member.pool().warm(); // reconnects an endpoint no call goes to while it has no connection
            }
        }
        for (OutlierDetector.Ejection e : ejections) {
            for (FleetMember member : m) {
                if (member.health() == e.endpoint()) {
                    ejected(member, e);
                }
            }
        }
    }

    private static List<EndpointHealth> healthOf(FleetMember[] m) {
        List<EndpointHealth> list = new ArrayList<>(m.length);
        for (FleetMember member : m) {
            list.add(member.health());
        }
        return list;
    }

    /** A removed endpoint: no new calls; those in flight finish (at most the drain timeout), then its pool closes. */
    private void drain(FleetMember m) {
        listener.endpointRemoved(m.endpoint());
        ConnectionPool pool = m.pool();
        draining.add(pool);
        pool.drain(fleetOptions.drainTimeout(), (op, body, metadata, deadline) -> call(op, body, metadata, deadline,
                false, null, null)).whenComplete((v, e) -> draining.remove(pool));
    }

    // ------------------------------------------------------------------ what calls see

    // ------------------------------------------------------------------ what calls see (FleetCall)

    /** The current members (an immutable snapshot). */
    FleetMember[] members() {
        return members;
    }

    /** The balancer. */
    Balancer balancer() {
        return balancer;
    }

    /** Slow start length, for ejections that end. */
    long slowStartNanos() {
        return slowStartNanos;
    }

    /** Most attempts per call. */
    int maxAttempts() {
        return fleetOptions.maxAttempts();
    }

    /** Takes a retry token; false (and counted) if the budget is spent. */
    boolean tryRetry() {
        if (budget.tryRetry()) {
            return true;
        }
        retriesRefused.incrementAndGet();
        listener.retryBudgetExhausted();
        return false;
    }

    /** The budget, described for error messages. */
    String budget() {
        return budget.toString();
    }

    /** Events. */
    FleetListener listener() {
        return listener;
    }

    /** Whether the fleet is closed. */
    boolean closed() {
        return closed;
    }

    /** Runs {@code task} on the callback pool after {@code delayNanos}; false if shutting down. */
    boolean later(Runnable task, long delayNanos) {
        try {
            if (delayNanos <= 0) {
                resources.callbackExecutor().execute(task);
            } else {
                resources.schedule(() -> {
                    try {
                        resources.callbackExecutor().execute(task);
                    } catch (RejectedExecutionException e) {
                        task.run(); // closing: the task sees the fleet closed and ends its call
                    }
                }, Duration.ofNanos(delayNanos));
            }
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /** Schedules {@code task} on a transport timer (quick tasks only); null if shutting down. */
    ScheduledFuture<?> timer(Runnable task, long delayNanos) {
        try {
            return resources.schedule(task, Duration.ofNanos(delayNanos));
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    /** Tracks a call waiting between attempts, so a close can end it. */
    void waiting(FleetCall call, boolean isWaiting) {
        if (isWaiting) {
            this.waiting.add(call);
        } else {
            this.waiting.remove(call);
        }
    }

    /** Tidewire's callback pool (the fallback when a completion executor rejects). */
    Executor callbackExecutor() {
        return resources.callbackExecutor();
    }

    // ------------------------------------------------------------------ inspection

    /** The current endpoints, with their figures. */
    public List<EndpointStats> endpoints() {
        List<EndpointStats> list = new ArrayList<>();
        for (FleetMember m : members) {
            list.add(m.stats(slowStartNanos));
        }
        return list;
    }

    /** The sum of every endpoint's pool counts (draining pools of removed endpoints included). */
    public PoolStats stats() {
        int active = 0, idle = 0, waitingCallers = 0, open = 0, inFlight = 0;
        long created = 0, destroyed = 0, late = 0;
        List<ConnectionPool> pools = new ArrayList<>(draining);
        for (FleetMember m : members) {
            pools.add(m.pool());
        }
        for (ConnectionPool p : pools) {
            PoolStats s = p.stats();
            active += s.active();
            idle += s.idle();
            waitingCallers += s.waiting();
            open += s.open();
            created += s.created();
            destroyed += s.destroyed();
            inFlight += s.inFlight();
            late += s.lateResponses();
        }
        return new PoolStats(active, idle, waitingCallers, open, created, destroyed, inFlight, late);
    }

    /** Connect attempts made so far, over every current endpoint. */
    public long connectAttempts() {
        long n = 0;
        for (FleetMember m : members) {
            n += m.pool().connectAttempts();
        }
        return n;
    }

    /** Retries and hedges not made because the retry budget was spent, in the fleet and in its pools. */
    public long retriesRefusedByBudget() {
        long n = retriesRefused.get();
        for (FleetMember m : members) {
            n += m.pool().retriesRefusedByBudget();
        }
        return n;
    }

    /** The resolver, as given. */
    public EndpointResolver resolver() {
        return resolver;
    }

    // ------------------------------------------------------------------ closing

    /**
     * Graceful close: the resolver stops, new calls are refused, every endpoint's calls in flight
     * get up to {@code grace} to finish, then everything closes. Idempotent.
     */
    public void close(Duration grace) {
        FleetMember[] m = shut();
        List<CompletableFuture<Void>> drains = new ArrayList<>();
        for (FleetMember member : m) {
            drains.add(member.pool().drain(grace, null));
        }
        for (ConnectionPool p : draining) {
            drains.add(p.drain(grace, null));
        }
        if (!dev.tidewire.transport.internal.NettyRuntime.onEventLoop()) {
            try {
                CompletableFuture.allOf(drains.toArray(CompletableFuture[]::new))
                        .get(grace.toNanos() + TimeUnit.SECONDS.toNanos(6), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // best effort: each drain ends on its own timer
            }
        }
        endWaiting();
    }

    /** Closes every connection at once; calls in flight fail with {@link ClientClosedException}. Idempotent. */
    public void closeNow() {
        FleetMember[] m = shut();
        for (FleetMember member : m) {
            member.pool().closeNow();
        }
        for (ConnectionPool p : draining) {
            p.closeNow();
        }
        endWaiting();
    }

    private FleetMember[] shut() {
        synchronized (this) {
            closed = true;
        }
        ScheduledFuture<?> e = evaluator;
        if (e != null) {
            e.cancel(false);
        }
        resolver.close();
        return members;
    }

    private void endWaiting() {
        for (FleetCall call : waiting) {
            if (waiting.remove(call)) {
                call.fail(new ClientClosedException("the client was closed while op '" + call.op()
                        + "' waited for an endpoint or a retry (it had not been processed)"));
            }
        }
    }

    /** {@link #close(Duration)} with a 5 s grace period. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    @Override
    public String toString() {
        return "Fleet[" + resolver + ", " + members.length + " endpoints]";
    }
}
