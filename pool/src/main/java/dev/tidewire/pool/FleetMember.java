package dev.tidewire.pool;

import dev.tidewire.pool.internal.fleet.Candidates;
import dev.tidewire.pool.internal.fleet.EndpointHealth;

/**
 * One endpoint of a {@link Fleet}: its pool, and what balancing and outlier detection know of it.
 * The endpoint record may be replaced (a new SRV answer changed its priority or weight); the pool
 * and the health stay for the endpoint's life in the fleet.
 */
final class FleetMember implements Candidates.Member {
    private volatile Endpoint endpoint;
    private final ConnectionPool pool;
    private final EndpointHealth health;

    FleetMember(Endpoint endpoint, ConnectionPool pool, EndpointHealth health) {
        this.endpoint = endpoint;
        this.pool = pool;
        this.health = health;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    ConnectionPool pool() {
        return pool;
    }

    @Override
    public EndpointHealth health() {
        return health;
    }

    @Override
    public boolean ready() {
        return pool.ready();
    }

    /** The same address reported again, perhaps with another priority or weight. */
    void update(Endpoint e) {
        if (e.priority() != endpoint.priority() || e.weight() != endpoint.weight()) {
            health.load().reweigh(e.priority(), e.weight());
        }
        endpoint = e;
    }

    EndpointStats stats(long slowStartNanos) {
        PoolStats p = pool.stats();
        return new EndpointStats(endpoint, p.inFlight(), health.load().latencyNanos() / 1e6, pool.ready(),
                health.ejected(System.nanoTime(), slowStartNanos), health.totalEjections(), p);
    }
}
