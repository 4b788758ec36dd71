/**
 * The reference Tidewire server: {@link dev.tidewire.server.TidewireServer} dispatches requests by
 * op name to a {@link dev.tidewire.server.Handler} (asynchronous, on an event loop) or a
 * {@link dev.tidewire.server.BlockingHandler} (on a bounded pool), through any
 * {@link dev.tidewire.server.ServerInterceptor}s, after an optional
 * {@link dev.tidewire.server.Authenticator} has admitted the connection.
 */
package dev.tidewire.server;
