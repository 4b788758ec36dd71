package dev.tidewire.transport.internal;

import dev.tidewire.Metadata;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Writes frames of {@code docs/protocol.md} into Netty buffers; the bytes are those of {@code FrameEncoder}.
 * The CRC32C trailer (when both HELLOs offered it) is computed over the bytes already in the
 * buffer, read in place through NIO views: no copy.
 */
public final class Frames {
    private Frames() {
    }

    /** The 16-byte header. */
    public static void writeHeader(ByteBuf out, FrameType type, long requestId, int payloadLength) {
        out.writeShort(Protocol.MAGIC);
        out.writeByte(Protocol.VERSION);
        out.writeByte(type.code());
        out.writeLong(requestId);
        out.writeInt(payloadLength);
    }

    /** A REQUEST frame: header, op length, op, body. */
    public static void writeRequest(ByteBuf out, long requestId, byte[] opBytes, byte[] body) {
        writeHeader(out, FrameType.REQUEST, requestId, 1 + opBytes.length + body.length);
        out.writeByte(opBytes.length);
        out.writeBytes(opBytes);
        out.writeBytes(body);
    }

    /**
     * A REQUEST_EXT frame: header, op length, op, timeout (ms), metadata length, metadata entries,
     * body (protocol.md section 4.6).
     */
    public static void writeRequestExt(ByteBuf out, long requestId, byte[] opBytes, long timeoutMillis,
            Metadata metadata, byte[] body) {
        writeHeader(out, FrameType.REQUEST_EXT, requestId, RequestPayload.extendedLength(opBytes, metadata, body));
        writeRequestExtPrefix(out, opBytes, timeoutMillis, metadata);
        out.writeBytes(body);
    }

    /** A REQUEST_EXT payload up to its body. */
    public static void writeRequestExtPrefix(ByteBuf out, byte[] opBytes, long timeoutMillis, Metadata metadata) {
        out.writeByte(opBytes.length);
        out.writeBytes(opBytes);
        out.writeInt((int) timeoutMillis);
        out.writeShort(metadata.encodedLength());
        for (int i = 0, n = metadata.size(); i < n; i++) {
            String key = metadata.key(i);
            byte[] value = metadata.valueBytes(i);
            out.writeByte(key.length());
            out.writeCharSequence(key, StandardCharsets.US_ASCII);
            out.writeShort(value.length);
            out.writeBytes(value);
        }
    }

    /** Bytes of a REQUEST frame for this op and body. */
    public static int requestLength(byte[] opBytes, byte[] body) {
        return Protocol.HEADER_LENGTH + 1 + opBytes.length + body.length;
    }

    /** A whole frame into {@code out}. */
    public static void write(ByteBuf out, Frame frame) {
        writeHeader(out, frame.type(), frame.requestId(), frame.payload().length);
        out.writeBytes(frame.payload());
    }

    /**
     * Appends the 4-byte CRC32C trailer of the frame written into {@code out} from index
     * {@code start} to its writer index.
     */
    public static void writeChecksum(ByteBuf out, int start, CRC32C crc) {
        crc.reset();
        update(crc, out, start, out.writerIndex() - start);
        out.writeInt((int) crc.getValue());
    }

    /** Feeds {@code length} bytes of {@code buf} from index {@code start} to {@code crc}, in place. */
    public static void update(CRC32C crc, ByteBuf buf, int start, int length) {
        if (buf.nioBufferCount() == 1) {
            crc.update(buf.nioBuffer(start, length));
        } else {
            for (ByteBuffer b : buf.nioBuffers(start, length)) {
                crc.update(b);
            }
        }
    }

    /** A whole frame in a new buffer from {@code alloc}; the caller owns it. */
    public static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
        ByteBuf out = alloc.ioBuffer(frame.encodedLength());
        write(out, frame);
        return out;
    }
}
