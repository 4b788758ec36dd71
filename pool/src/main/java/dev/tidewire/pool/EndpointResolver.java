package dev.tidewire.pool;

import java.util.List;

/**
 * Where a client's endpoints come from: a static list, DNS (A/AAAA or SRV), or anything a user
 * plugs in (Consul, etcd, Kubernetes endpoints). The client keeps one connection pool per
 * endpoint the resolver reports, opening pools for endpoints that appear and draining those of
 * endpoints that disappear (docs/fleet.md).
 *
 * <pre>{@code
 * final class ConsulResolver implements EndpointResolver {
 *     public void start(Listener listener) {
 *         watch.onChange(services -> listener.onEndpoints(services.stream()
 *                 .map(s -> Endpoint.of(new InetSocketAddress(s.ip(), s.port()))).toList()));
 *         watch.onError(listener::onError);
 *     }
 *     public void close() { watch.stop(); }
 * }
 * TidewireClient client = TidewireClient.builder().target(new ConsulResolver()).build();
 * }</pre>
 *
 * <p><b>Contract.</b> {@link #start} is called once, by the client, and must return at once: a
 * resolver does its lookups in the background (its own threads, or asynchronous I/O) and never
 * blocks the thread that starts it, refreshes it or closes it. It reports each complete set of
 * endpoints with {@link Listener#onEndpoints} (the set replaces the previous one) and failures with
 * {@link Listener#onError} (the client keeps the endpoints it has). Calls made before the first
 * set arrives wait for it, within their deadlines. Listener methods may be called on any thread,
 * but not concurrently. After {@link #close} returns, the resolver calls its listener no more.
 */
public interface EndpointResolver extends AutoCloseable {

    /** Receives what a resolver finds. Implemented by the client; its methods return at once. */
    interface Listener {
        /**
         * The complete current set of endpoints, replacing the previous one. An empty list is taken
         * as a failure to resolve (the client keeps its endpoints), never as "drain every server".
         * Duplicates (equal addresses) keep the first.
         */
        void onEndpoints(List<Endpoint> endpoints);

        /** Resolving failed; the client keeps the endpoints it has and reports {@code error} to calls that have none. */
        void onError(Throwable error);
    }

    /** Starts resolving, reporting to {@code listener}; returns at once. Called once. */
    void start(Listener listener);

    /**
     * A hint that a connection to one of the endpoints failed: resolve again soon (the set may
     * have changed). Returns at once; a resolver may ignore it or limit how often it acts on it.
     */
    default void refresh() {
    }

    /** Stops resolving and releases what the resolver holds; returns at once. Idempotent. */
    @Override
    void close();

    /** A resolver that reports {@code endpoints} once and never changes them. */
    static EndpointResolver of(List<Endpoint> endpoints) {
        List<Endpoint> fixed = List.copyOf(endpoints);
        if (fixed.isEmpty()) {
            throw new IllegalArgumentException("a static target needs at least one endpoint");
        }
        return new EndpointResolver() {
            @Override
            public void start(Listener listener) {
                listener.onEndpoints(fixed);
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return fixed.toString();
            }
        };
    }
}
