package dev.tidewire.protocol;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

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

    /**
     * Puts the whole frame into {@code out}, followed, if {@code checksum}, by its 4-byte CRC32C
     * trailer (big-endian) computed over the header and payload just written.
     */
    public static void write(ByteBuffer out, Frame frame, boolean checksum) {
        int start = out.position();
        write(out, frame);
        if (checksum) {
            writeChecksum(out, start);
        }
    }

    /**
     * Appends the CRC32C trailer of the frame that occupies {@code out} from index {@code start}
     * to its current position.
     */
    public static void writeChecksum(ByteBuffer out, int start) {
        CRC32C crc = new CRC32C();
        crc.update(out.duplicate().limit(out.position()).position(start));
        out.putInt((int) crc.getValue());
    }

    /** The CRC32C of {@code length} bytes of {@code bytes} from {@code offset}, as the trailer carries it. */
    public static int checksum(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    /** The frame as a fresh byte array. */
    public static byte[] encode(Frame frame) {
        return encode(frame, false);
    }

    /** The frame as a fresh byte array, with its CRC32C trailer if {@code checksum}. */
    public static byte[] encode(Frame frame, boolean checksum) {
        ByteBuffer out = ByteBuffer.allocate(frame.encodedLength() + (checksum ? Protocol.CHECKSUM_LENGTH : 0));
        write(out, frame, checksum);
        return out.array();
    }
}
