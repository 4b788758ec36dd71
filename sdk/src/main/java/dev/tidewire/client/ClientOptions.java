package dev.tidewire.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.pool.PoolOptions;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.TransportResources;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The immutable settings of a {@link TidewireClient}, as built by {@link TidewireClient.Builder}.
 * The names mirror the options of the Go client Tidewire grew from: {@code addr} is
 * {@link #address()}, {@code size} {@link #maxConnections()}, {@code readTimeout}
 * {@link #requestTimeout()}, {@code dialTimeout} {@link #connectTimeout()}, {@code keepAlive}
 * {@link #keepAlive()}. Defaults, units and ranges are on the builder's setters and in
 * {@code docs/configuration.md}.
 */
public final class ClientOptions {
    private final String name;
    private final InetSocketAddress address;
    private final String target;
    private final java.util.function.Supplier<dev.tidewire.pool.EndpointResolver> resolver;
    private final dev.tidewire.pool.FleetOptions fleet;
    private final Duration requestTimeout;
    private final Duration closeGracePeriod;
    private final PoolOptions pool;
    private final ConnectionOptions connection;
    private final ObjectMapper objectMapper;
    private final MeterRegistry meterRegistry;
    private final boolean metricsHistogram;
    private final List<Duration> metricsServiceLevelObjectives;
    private final Executor callbackExecutor;
    private final int callbackThreads;
    private final Duration timerTick;
    private final int maxPendingCalls;
    private final int ioThreads;
    private final TransportResources transportResources;
    // tracing and interception (issue 12)
    private final List<ClientInterceptor> interceptors;
    private final ObservationRegistry observationRegistry;

    ClientOptions(String name, InetSocketAddress address, String target,
            java.util.function.Supplier<dev.tidewire.pool.EndpointResolver> resolver, dev.tidewire.pool.FleetOptions fleet,
            Duration requestTimeout, Duration closeGracePeriod, PoolOptions pool,
            ConnectionOptions connection, ObjectMapper objectMapper, MeterRegistry meterRegistry,
            boolean metricsHistogram, List<Duration> metricsServiceLevelObjectives,
            Executor callbackExecutor, int callbackThreads, Duration timerTick, int maxPendingCalls, int ioThreads,
            TransportResources transportResources, List<ClientInterceptor> interceptors,
            ObservationRegistry observationRegistry) {
        this.name = name;
        this.address = address;
        this.target = target;
        this.resolver = resolver;
        this.fleet = fleet;
        this.requestTimeout = requestTimeout;
        this.closeGracePeriod = closeGracePeriod;
        this.pool = pool;
        this.connection = connection;
        this.objectMapper = objectMapper;
        this.meterRegistry = meterRegistry;
        this.metricsHistogram = metricsHistogram;
        this.metricsServiceLevelObjectives = List.copyOf(metricsServiceLevelObjectives);
        this.callbackExecutor = callbackExecutor;
        this.callbackThreads = callbackThreads;
        this.timerTick = timerTick;
        this.maxPendingCalls = maxPendingCalls;
        this.ioThreads = ioThreads;
        this.transportResources = transportResources;
        this.interceptors = List.copyOf(interceptors);
        this.observationRegistry = observationRegistry;
    }

    /** The client's name, the {@code client} tag of its meters. */
    public String name() {
        return name;
    }

    /** The server (the seed's {@code addr}), or null when the client was given a {@link #target()} of many. */
    public InetSocketAddress address() {
        return address;
    }

    /**
     * What the client calls: {@code host:port} for one {@link #address()}, else the target as given
     * (a static list, a {@code dns:} or {@code srv:} URI, or a resolver's {@code toString}). The
     * {@code address} tag of the client's meters.
     */
    public String target() {
        return target;
    }

    /** Makes the client's endpoint resolver (one endpoint for an {@link #address()}). */
    java.util.function.Supplier<dev.tidewire.pool.EndpointResolver> resolver() {
        return resolver;
    }

    /** Balancing, outlier ejection and retries across endpoints. */
    public dev.tidewire.pool.FleetOptions fleet() {
        return fleet;
    }

    /** Default timeout of a call, from start to reply (the seed's {@code readTimeout}). */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** How long {@link TidewireClient#close()} lets calls in flight finish. */
    public Duration closeGracePeriod() {
        return closeGracePeriod;
    }

    /** Most connections (the seed's {@code size}). */
    public int maxConnections() {
        return pool.maxConnections();
    }

    /** TCP connect plus handshake timeout (the seed's {@code dialTimeout}). */
    public Duration connectTimeout() {
        return connection.connectTimeout();
    }

    /** TCP keepalive idle time (the seed's {@code keepAlive}); zero when off. */
    public Duration keepAlive() {
        return connection.keepAliveIdle();
    }

    /** The pool settings. */
    public PoolOptions pool() {
        return pool;
    }

    /** The per-connection settings. */
    public ConnectionOptions connection() {
        return connection;
    }

    /** The mapper for request and response bodies. */
    public ObjectMapper objectMapper() {
        return objectMapper;
    }

    /** Where metrics go, or null for none. */
    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /** Whether the request timer publishes a percentile histogram ({@code _bucket} series); default false. */
    public boolean metricsHistogram() {
        return metricsHistogram;
    }

    /** Extra bucket boundaries of the request timer, ascending; empty by default. */
    public List<Duration> metricsServiceLevelObjectives() {
        return metricsServiceLevelObjectives;
    }

    /** The executor that completes async calls, or null for the client's own pool. */
    public Executor callbackExecutor() {
        return callbackExecutor;
    }

    /** Threads in the client's own callback pool (when no executor is given). */
    public int callbackThreads() {
        return callbackThreads;
    }

    /** Resolution of deadlines and heartbeats. */
    public Duration timerTick() {
        return timerTick;
    }

    /**
     * Most calls started and not yet ended (in flight, or waiting for a connection or an
     * in-flight slot); a call beyond it fails at once with {@code TooManyPendingCallsException}.
     */
    public int maxPendingCalls() {
        return maxPendingCalls;
    }

    /** Event-loop threads of the client's own transport resources (unused with shared resources). */
    public int ioThreads() {
        return ioThreads;
    }

    /**
     * Transport resources shared with other clients, or null when the client makes (and closes)
     * its own from {@link #ioThreads()}, {@link #callbackThreads()} and {@link #timerTick()}.
     */
    public TransportResources transportResources() {
        return transportResources;
    }

    /** The interceptors every call passes, outermost first (empty by default). */
    public List<ClientInterceptor> interceptors() {
        return interceptors;
    }

    /** Where each call's observation (and span) is made; null (the default) for none. */
    public ObservationRegistry observationRegistry() {
        return observationRegistry;
    }

    @Override
    public String toString() {
        return "ClientOptions[name=" + name + ", target=" + target + ", fleet=" + fleet + ", requestTimeout=" + requestTimeout + ", closeGracePeriod="
                + closeGracePeriod + ", maxPendingCalls=" + maxPendingCalls + ", " + pool + ", " + connection
                + ", metrics=" + (meterRegistry != null)
                + (metricsHistogram ? ", metricsHistogram" : "")
                + (metricsServiceLevelObjectives.isEmpty() ? "" : ", metricsSlo=" + metricsServiceLevelObjectives) + "]";
    }
}
