package dev.tidewire.pool;

/**
 * A snapshot of a pool.
 *
 * @param active        connections lent to callers right now (each lease lasts only while a request is handed over)
 * @param idle          connections in the pool, ready (they may still carry calls in flight)
 * @param waiting       callers waiting for a connection
 * @param open          connections open, including retired ones still draining
 * @param created       connections opened since start
 * @param destroyed     connections retired since start
 * @param inFlight      calls in flight over all open connections
 * @param lateResponses replies that arrived after their call ended, over all connections ever opened
 */
public record PoolStats(int active, int idle, int waiting, int open, long created, long destroyed, int inFlight,
                        long lateResponses) {
}
