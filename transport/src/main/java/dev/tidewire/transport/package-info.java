/**
 * One TCP (or TLS) connection to a Tidewire server carrying many calls at once:
 * {@link dev.tidewire.transport.Connection}, its {@link dev.tidewire.transport.ConnectionOptions},
 * the {@link dev.tidewire.transport.Deadline} every call carries, and the
 * {@link dev.tidewire.transport.TransportResources} (Netty event loops and a callback pool) that
 * connections share.
 *
 * <p>Most applications use {@code dev.tidewire.client.TidewireClient} (module tidewire-sdk), which
 * pools these connections.
 */
package dev.tidewire.transport;
