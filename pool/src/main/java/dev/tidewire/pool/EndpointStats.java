package dev.tidewire.pool;

/**
 * A snapshot of one endpoint of a {@link Fleet}.
 *
 * @param endpoint      the endpoint
 * @param inFlight      calls in flight on its connections
 * @param latencyMillis the balancer's peak EWMA of its latency, milliseconds
 * @param ready         whether it has an open connection
 * @param ejected       whether outlier detection has ejected it now
 * @param ejections     ejections so far
 * @param pool          its connection pool's counts
 */
public record EndpointStats(Endpoint endpoint, int inFlight, double latencyMillis, boolean ready, boolean ejected,
        long ejections, PoolStats pool) {
}
