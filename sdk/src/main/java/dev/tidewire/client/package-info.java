/**
 * The client applications embed: {@link dev.tidewire.client.TidewireClient}, built with its
 * {@link dev.tidewire.client.TidewireClient.Builder}, with per-call
 * {@link dev.tidewire.client.CallOptions} and {@link dev.tidewire.client.ClientInterceptor}s.
 * Requests and replies are mapped to and from JSON with Jackson; metrics go to Micrometer when a
 * registry is given.
 */
package dev.tidewire.client;
