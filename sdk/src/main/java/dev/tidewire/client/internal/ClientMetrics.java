package dev.tidewire.client.internal;

import dev.tidewire.pool.Endpoint;
import dev.tidewire.pool.Fleet;
import dev.tidewire.pool.FleetListener;
import dev.tidewire.pool.PoolListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Micrometer binding of one client. Exists only when a registry was given, so a client without
 * one pays nothing. Request timers are registered when first needed: per op, an array indexed by
 * outcome holds the timers of the outcomes seen so far, so a scrape shows only series that have
 * happened, and recording a call whose timer exists is a map read, an array read and a timer
 * update, without allocation. Names and tags: {@code docs/metrics.md}.
 */
public final class ClientMetrics implements PoolListener, FleetListener {
    private static final AttemptOutcome[] ATTEMPT_OUTCOMES = AttemptOutcome.values();
    /** Lowest bucket of the request timer's percentile histogram: Tidewire calls often take well under 1 ms. */
    public static final Duration HISTOGRAM_MIN = Duration.ofNanos(100_000);
    /** Highest finite bucket of the request timer's percentile histogram. */
    public static final Duration HISTOGRAM_MAX = Duration.ofSeconds(30);
    private static final Outcome[] OUTCOMES = Outcome.values();

    private final MeterRegistry registry;
    private final Tags common;
    private final boolean histogram;
    private final Duration[] serviceLevelObjectives;
    private final ConcurrentHashMap<String, AtomicReferenceArray<Timer>> requestTimers = new ConcurrentHashMap<>();
    private final Counter created;
    private final Counter connectFailures;
    private final Map<DestroyReason, Counter> destroyed = new EnumMap<>(DestroyReason.class);
    private final Timer borrow;
    private final List<Meter> meters = new ArrayList<>();
    private final ConcurrentHashMap<Endpoint, EndpointMeters> endpoints = new ConcurrentHashMap<>();
    private final Map<RetryReason, Counter> retries = new EnumMap<>(RetryReason.class);

    /** One endpoint's meters, removed with the endpoint. Attempt counters are registered when first needed. */
    private final class EndpointMeters {
        final Tags tags;
        final List<Meter> own = new ArrayList<>(); // guarded by ClientMetrics.this
        final AtomicReferenceArray<Counter> attempts = new AtomicReferenceArray<>(ATTEMPT_OUTCOMES.length);
        /** What the gauges read. Micrometer holds a gauge's state weakly, so it is held here, for as long as the meters. */
        final EndpointStatsSource stats;

        EndpointMeters(Endpoint endpoint, EndpointStatsSource stats) {
            this.tags = common.and("endpoint", endpoint.label());
            this.stats = stats;
        }
    }
    private boolean closed; // guarded by this

    /**
     * Registers the client's counters and borrow timer.
     *
     * @param histogram              whether request timers publish a percentile histogram
     * @param serviceLevelObjectives extra bucket boundaries of the request timers
     */
    public ClientMetrics(MeterRegistry registry, String client, String address, boolean histogram,
            List<Duration> serviceLevelObjectives) {
        this.registry = registry;
        this.common = Tags.of("client", client, "address", address);
        this.histogram = histogram;
        this.serviceLevelObjectives = serviceLevelObjectives.toArray(new Duration[0]);
        // "opened", not "created": Prometheus clients treat a "_created" suffix as a timestamp series
        this.created = keep(Counter.builder("tidewire.connections.opened").tags(common)
                .description("Connections opened").register(registry));
        this.connectFailures = keep(Counter.builder("tidewire.connections.connect.failures").tags(common)
                .description("Connect attempts that failed or were skipped while backing off").register(registry));
        for (DestroyReason r : DestroyReason.values()) {
            destroyed.put(r, keep(Counter.builder("tidewire.connections.destroyed").tags(common)
                    .tag("reason", r.name().toLowerCase()).description("Connections retired, by reason").register(registry)));
        }
        this.borrow = keep(Timer.builder("tidewire.pool.borrow").tags(common)
                .description("Time callers waited for a pooled connection").register(registry));
        for (RetryReason r : RetryReason.values()) {
            retries.put(r, keep(Counter.builder("tidewire.retries").tags(common).tag("reason", r.name().toLowerCase())
                    .description("Calls sent again on another endpoint, by reason").register(registry)));
        }
    }

    /** Registers the gauges that read the client and its pool. */
    public void bind(Fleet pool, AtomicInteger inFlight) {
        keep(FunctionCounter.builder("tidewire.retries.refused", pool, Fleet::retriesRefusedByBudget).tags(common)
                .description("Retries and hedges not made because the retry budget was spent").register(registry));
        keep(Gauge.builder("tidewire.endpoints", pool, p -> p.endpoints().size()).tags(common)
                .description("Endpoints the client balances across").register(registry));
        keep(Gauge.builder("tidewire.requests.active", inFlight, AtomicInteger::get).tags(common)
                .description("Calls in flight").register(registry));
        keep(FunctionCounter.builder("tidewire.responses.late", pool, p -> p.stats().lateResponses()).tags(common)
                .description("Replies that arrived after their call had timed out or been cancelled").register(registry));
        keep(Gauge.builder("tidewire.pool.active", pool, p -> p.stats().active()).tags(common)
                .description("Connections lent out right now").register(registry));
        keep(Gauge.builder("tidewire.pool.idle", pool, p -> p.stats().idle()).tags(common)
                .description("Connections idle in the pool (they may carry calls in flight)").register(registry));
        keep(Gauge.builder("tidewire.pool.waiting", pool, p -> p.stats().waiting()).tags(common)
                .description("Callers waiting for a connection").register(registry));
        keep(Gauge.builder("tidewire.connections.open", pool, p -> p.stats().open()).tags(common)
                .description("Open connections, including retired ones still draining").register(registry));
    }

    /** Records one finished call; registers its timer if this is the first call of the op with that outcome. */
    public void record(String op, Outcome outcome, long nanos) {
        AtomicReferenceArray<Timer> timers = requestTimers.get(op);
        if (timers == null) {
            timers = requestTimers.computeIfAbsent(op, k -> new AtomicReferenceArray<>(OUTCOMES.length));
        }
        Timer timer = timers.get(outcome.ordinal());
        if (timer == null) {
            timer = register(op, outcome, timers);
            if (timer == null) {
                return; // closed: the client's meters are gone from the registry
            }
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }

    private synchronized Timer register(String op, Outcome outcome, AtomicReferenceArray<Timer> timers) {
        if (closed) {
            return null;
        }
        Timer timer = timers.get(outcome.ordinal());
        if (timer == null) {
            Timer.Builder b = Timer.builder("tidewire.requests").tags(common).tag("op", op).tag("outcome", outcome.tag())
                    .description("Calls, by op and outcome");
            if (histogram) {
                b.publishPercentileHistogram().minimumExpectedValue(HISTOGRAM_MIN).maximumExpectedValue(HISTOGRAM_MAX);
            }
            if (serviceLevelObjectives.length > 0) {
                b.serviceLevelObjectives(serviceLevelObjectives);
            }
            timer = keep(b.register(registry));
            timers.set(outcome.ordinal(), timer);
        }
        return timer;
    }

    @Override
    public void connectionCreated() {
        created.increment();
    }

    @Override
    public void connectFailed() {
        connectFailures.increment();
    }

    @Override
    public void connectionDestroyed(DestroyReason reason) {
        destroyed.get(reason).increment();
    }

    @Override
    public void borrowed(long waitNanos) {
        borrow.record(waitNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void endpointAdded(Endpoint endpoint, EndpointStatsSource stats) {
        EndpointMeters m = new EndpointMeters(endpoint, stats);
        synchronized (this) {
            if (closed) {
                return;
            }
            m.own.add(Gauge.builder("tidewire.endpoint.in.flight", stats, s -> s.stats().inFlight()).tags(m.tags)
                    .description("Calls in flight on the endpoint's connections").register(registry));
            m.own.add(Gauge.builder("tidewire.endpoint.ready", stats, s -> s.stats().ready() ? 1 : 0).tags(m.tags)
                    .description("1 while the endpoint has an open connection").register(registry));
            m.own.add(Gauge.builder("tidewire.endpoint.ejected", stats, s -> s.stats().ejected() ? 1 : 0).tags(m.tags)
                    .description("1 while outlier detection keeps the endpoint out").register(registry));
            m.own.add(io.micrometer.core.instrument.TimeGauge.builder("tidewire.endpoint.latency", stats,
                    TimeUnit.MILLISECONDS, s -> s.stats().latencyMillis()).tags(m.tags)
                    .description("The balancer's peak EWMA of the endpoint's latency").register(registry));
            m.own.add(FunctionCounter.builder("tidewire.endpoint.ejections", stats, s -> s.stats().ejections())
                    .tags(m.tags).description("Times outlier detection ejected the endpoint").register(registry));
            EndpointMeters before = endpoints.put(endpoint, m);
            if (before != null) {
                removeAll(before);
            }
        }
    }

    @Override
    public void endpointRemoved(Endpoint endpoint) {
        synchronized (this) {
            EndpointMeters m = endpoints.remove(endpoint);
            if (m != null) {
                removeAll(m);
            }
        }
    }

    @Override
    public void attemptEnded(Endpoint endpoint, AttemptOutcome outcome) {
        EndpointMeters m = endpoints.get(endpoint);
        if (m == null) {
            return;
        }
        Counter c = m.attempts.get(outcome.ordinal());
        if (c == null) {
            synchronized (this) {
                if (closed || endpoints.get(endpoint) != m) {
                    return;
                }
                c = m.attempts.get(outcome.ordinal());
                if (c == null) {
                    c = Counter.builder("tidewire.endpoint.attempts").tags(m.tags)
                            .tag("outcome", outcome.name().toLowerCase()).description("Attempts of balanced calls on"
                                    + " the endpoint, by outcome").register(registry);
                    m.own.add(c);
                    m.attempts.set(outcome.ordinal(), c);
                }
            }
        }
        c.increment();
    }

    @Override
    public void retried(RetryReason reason) {
        retries.get(reason).increment();
    }

    private void removeAll(EndpointMeters m) {
        for (Meter meter : m.own) {
            registry.remove(meter);
        }
        m.own.clear();
    }

    /** Removes every meter this client registered; a call recorded later registers nothing. */
    public synchronized void close() {
        closed = true;
        for (Meter m : meters) {
            registry.remove(m);
        }
        meters.clear();
        for (EndpointMeters m : endpoints.values()) {
            removeAll(m);
        }
        endpoints.clear();
    }

    private synchronized <M extends Meter> M keep(M meter) {
        meters.add(meter);
        return meter;
    }
}
