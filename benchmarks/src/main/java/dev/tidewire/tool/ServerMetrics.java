package dev.tidewire.tool;

import dev.tidewire.server.ServerListener;
import dev.tidewire.server.TidewireServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Micrometer metrics of a {@link TidewireServer}: a {@link ServerListener} recording the timer
 * {@code tidewire.server.requests} (tags {@code op}, {@code outcome}: {@code success} or
 * {@code error_<code>}) and the counter {@code tidewire.server.requests.cancelled} (tag {@code op}),
 * plus meters that read the server's {@link TidewireServer#stats() stats}.
 */
final class ServerMetrics implements ServerListener {
    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

    ServerMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void requestCompleted(String op, int errorCode, long nanos) {
        String outcome = errorCode == 0 ? "success" : "error_" + errorCode;
        timers.computeIfAbsent(op + ' ' + outcome, k -> Timer.builder("tidewire.server.requests")
                        .tag("op", op).tag("outcome", outcome)
                        .description("Requests answered, from reading the request to queueing the reply")
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void requestCancelled(String op) {
        registry.counter("tidewire.server.requests.cancelled", "op", op).increment();
    }

    /** Registers the meters that read {@code server}'s counters. */
    void bindStats(TidewireServer server) {
        Gauge.builder("tidewire.server.connections.open", server, s -> s.stats().connectionsOpen())
                .description("Connections open now").register(registry);
        FunctionCounter.builder("tidewire.server.connections.accepted", server, s -> s.stats().connectionsAccepted())
                .description("Connections accepted since start").register(registry);
        FunctionCounter.builder("tidewire.server.requests.received", server, s -> s.stats().requests())
                .description("Requests received").register(registry);
        FunctionCounter.builder("tidewire.server.requests.overloaded", server, s -> s.stats().rejectedOverloaded())
                .description("Requests refused with OVERLOADED").register(registry);
        Gauge.builder("tidewire.server.inflight.max", server, s -> s.stats().maxObservedInFlight())
                .description("Most requests ever in flight at once on one connection").register(registry);
    }
}
