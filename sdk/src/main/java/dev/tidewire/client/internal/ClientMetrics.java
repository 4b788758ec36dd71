package dev.tidewire.client.internal;

import dev.tidewire.pool.ConnectionPool;
import dev.tidewire.pool.PoolListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Micrometer binding of one client. Exists only when a registry was given, so a client without
 * one pays nothing. Meters are looked up once and cached (per op, an array indexed by outcome), so
 * recording a call is an array read and a timer update. Names and tags: {@code docs/metrics.md}.
 */
public final class ClientMetrics implements PoolListener {
    private final MeterRegistry registry;
    private final Tags common;
    private final ConcurrentHashMap<String, Timer[]> requestTimers = new ConcurrentHashMap<>();
    private final Counter created;
    private final Counter connectFailures;
    private final Map<DestroyReason, Counter> destroyed = new EnumMap<>(DestroyReason.class);
    private final Timer borrow;
    private final List<Meter> meters = new ArrayList<>();

    public ClientMetrics(MeterRegistry registry, String client, String address) {
        this.registry = registry;
        this.common = Tags.of("client", client, "address", address);
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
    }

    /** Registers the gauges that read the client and its pool. */
    public void bind(ConnectionPool pool, AtomicInteger inFlight) {
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

    /** Records one finished call. */
    public void record(String op, Outcome outcome, long nanos) {
        Timer[] timers = requestTimers.get(op);
        if (timers == null) {
            timers = requestTimers.computeIfAbsent(op, this::timersFor);
        }
        timers[outcome.ordinal()].record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer[] timersFor(String op) {
        Outcome[] outcomes = Outcome.values();
        Timer[] timers = new Timer[outcomes.length];
        for (Outcome o : outcomes) {
            timers[o.ordinal()] = keep(Timer.builder("tidewire.requests").tags(common).tag("op", op)
                    .tag("outcome", o.tag()).description("Calls, by op and outcome").register(registry));
        }
        return timers;
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

    /** Removes every meter this client registered. */
    public synchronized void close() {
        for (Meter m : meters) {
            registry.remove(m);
        }
        meters.clear();
    }

    private synchronized <M extends Meter> M keep(M meter) {
        meters.add(meter);
        return meter;
    }
}
