package dev.tidewire.protocol;

import java.nio.ByteBuffer;

/**
 * Writes frames in the layout drawn in {@link Protocol}. Stateless; every method is pure apart from
 * advancing the target buffer's position. Multi-byte fields are big-endian.
 */
public final class FrameEncoder {
    private FrameEncoder() {
    }

    /**
     * Puts a 16-byte header into {@code out}.
     *
     * @throws java.nio.BufferOverflowException if fewer than 16 bytes remain
     */
    public static void writeHeader(ByteBuffer out, FrameType type, long requestId, int payloadLength) {
        if (payloadLength < 0) {
            throw new IllegalArgumentException("payloadLength must be >= 0: " + payloadLength);
        }
        out.putShort((short) Protocol.MAGIC);
        out.put((byte) Protocol.VERSION);
        out.put((byte) type.code());
        out.putLong(requestId);
        out.putInt(payloadLength);
    }

    /** Puts the whole frame (header and payload) into {@code out}. */
    public static void write(ByteBuffer out, Frame frame) {
        writeHeader(out, frame.type(), frame.requestId(), frame.payload().length);
        out.put(frame.payload());
    }

    /** The frame as a fresh byte array. */
    public static byte[] encode(Frame frame) {
        ByteBuffer out = ByteBuffer.allocate(frame.encodedLength());
        write(out, frame);
        return out.array();
    }
}
