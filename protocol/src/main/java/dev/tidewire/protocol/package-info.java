/**
 * The wire format ({@code docs/protocol.md}): {@link dev.tidewire.protocol.Frame}s and their
 * {@link dev.tidewire.protocol.FrameType}s, the incremental
 * {@link dev.tidewire.protocol.FrameDecoder} and the {@link dev.tidewire.protocol.FrameEncoder},
 * the payload codecs (HELLO, REQUEST, ERROR, GOAWAY), {@link dev.tidewire.protocol.ErrorCode}s,
 * and one {@link dev.tidewire.ProtocolException} subclass per violation the decoder detects.
 *
 * <p>Applications making calls need little of it beyond the {@code ErrorCode} constants (the
 * codes a {@link dev.tidewire.RemoteException} carries); it is for tests, tools and other
 * implementations of the protocol.
 */
package dev.tidewire.protocol;
