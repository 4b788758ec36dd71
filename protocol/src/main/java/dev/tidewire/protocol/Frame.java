package dev.tidewire.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One decoded or to-be-encoded frame: its type, its 64-bit request id and its payload bytes.
 * The payload array is owned by the frame; callers must not change it after construction.
 *
 * @param type      the frame type
 * @param requestId the request id: 1 .. 2^63-1 for requests (peers compare ids as signed 64-bit
 *                  numbers, so the top bit is never set), 0 where the type has none, any value for PING/PONG
 * @param payload   the payload, never null (empty for PING, PONG and CANCEL)
 */
public record Frame(FrameType type, long requestId, byte[] payload) {
    private static final byte[] EMPTY = new byte[0];

    /**
     * Takes {@code payload} over without copying; a null payload becomes an empty one.
     *
     * @throws NullPointerException if {@code type} is null
     */
    public Frame {
        Objects.requireNonNull(type, "type");
        payload = payload == null ? EMPTY : payload;
    }

    /** A frame with an empty payload. */
    public static Frame of(FrameType type, long requestId) {
        return new Frame(type, requestId, EMPTY);
    }

    /** Total bytes this frame takes on the wire. */
    public int encodedLength() {
        return Protocol.HEADER_LENGTH + payload.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frame f && f.type == type && f.requestId == requestId
                && java.util.Arrays.equals(f.payload, payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, requestId, java.util.Arrays.hashCode(payload));
    }

    @Override
    public String toString() {
        String text = new String(payload, 0, Math.min(payload.length, 64), StandardCharsets.UTF_8);
        return type + "#" + requestId + "[" + payload.length + " B" + (payload.length == 0 ? "" : ": " + text
                + (payload.length > 64 ? "..." : "")) + "]";
    }
}
