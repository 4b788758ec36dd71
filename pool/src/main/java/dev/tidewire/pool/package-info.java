/**
 * Pooling: a {@link dev.tidewire.pool.ConnectionPool} of multiplexed connections to one address
 * (commons-pool2), and a {@link dev.tidewire.pool.Fleet} of such pools, one per endpoint an
 * {@link dev.tidewire.pool.EndpointResolver} reports, with load balancing, outlier ejection and
 * retries within a budget ({@code docs/fleet.md}).
 *
 * <p>Most applications use {@code dev.tidewire.client.TidewireClient} (module tidewire-sdk), which
 * builds these from its options.
 */
package dev.tidewire.pool;
