package dev.tidewire.tool;

import dev.tidewire.server.ServerListener;
import dev.tidewire.server.TidewireServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Micrometer metrics of a {@link TidewireServer}: a {@link ServerListener} recording the timer
 * {@code tidewire.server.requests} (tags {@code op}, {@code outcome}: {@code success} or
 * {@code error_<code>}; optionally with a percentile histogram and extra buckets) and the counter
 * {@code tidewire.server.requests.cancelled} (tag {@code op}), plus meters that read the server's
 * {@link TidewireServer#stats() stats}. Meters are registered when first needed; recording a
 * success of an op already seen allocates nothing.
 */
final class ServerMetrics implements ServerListener {
    /** Lowest bucket of the percentile histogram (the client's is the same). */
    static final Duration HISTOGRAM_MIN = Duration.ofNanos(100_000);
    /** Highest finite bucket of the percentile histogram. */
    static final Duration HISTOGRAM_MAX = Duration.ofSeconds(30);

    private final MeterRegistry registry;
    private final boolean histogram;
    private final Duration[] serviceLevelObjectives;
    private final ConcurrentHashMap<String, OpMeters> ops = new ConcurrentHashMap<>();

    /** Records to {@code registry}; {@code histogram} and {@code serviceLevelObjectives} shape the request timer. */
    ServerMetrics(MeterRegistry registry, boolean histogram, List<Duration> serviceLevelObjectives) {
        this.registry = registry;
        this.histogram = histogram;
        this.serviceLevelObjectives = serviceLevelObjectives.toArray(new Duration[0]);
    }

    @Override
    public void requestCompleted(String op, int errorCode, long nanos) {
        meters(op).timer(errorCode).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void requestCancelled(String op) {
        meters(op).cancelled().increment();
    }

    private OpMeters meters(String op) {
        OpMeters m = ops.get(op);
        return m != null ? m : ops.computeIfAbsent(op, OpMeters::new);
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

    /** The meters of one op, each registered on first use. */
    private final class OpMeters {
        private final String op;
        private volatile Timer success;
        private volatile Counter cancelled;
        private final ConcurrentHashMap<Integer, Timer> errors = new ConcurrentHashMap<>();

        OpMeters(String op) {
            this.op = op;
        }

        Timer timer(int errorCode) {
            if (errorCode != 0) {
                return errors.computeIfAbsent(errorCode, code -> register("error_" + code));
            }
            Timer t = success;
            if (t == null) {
                t = register("success"); // a race registers the same meter twice: Micrometer returns the first
                success = t;
            }
            return t;
        }

        Counter cancelled() {
            Counter c = cancelled;
            if (c == null) {
                c = Counter.builder("tidewire.server.requests.cancelled").tag("op", op)
                        .description("Requests the client cancelled before they were answered").register(registry);
                cancelled = c;
            }
            return c;
        }

        private Timer register(String outcome) {
            Timer.Builder b = Timer.builder("tidewire.server.requests").tag("op", op).tag("outcome", outcome)
                    .description("Requests answered, from reading the request to the completed write of the reply");
            if (histogram) {
                b.publishPercentileHistogram().minimumExpectedValue(HISTOGRAM_MIN).maximumExpectedValue(HISTOGRAM_MAX);
            }
            if (serviceLevelObjectives.length > 0) {
                b.serviceLevelObjectives(serviceLevelObjectives);
            }
            return b.register(registry);
        }
    }
}
