package dev.tidewire.transport.internal;

import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Writes frames of {@code docs/protocol.md} into Netty buffers; the bytes are those of {@code FrameEncoder}. */
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

    /** Bytes of a REQUEST frame for this op and body. */
    public static int requestLength(byte[] opBytes, byte[] body) {
        return Protocol.HEADER_LENGTH + 1 + opBytes.length + body.length;
    }

    /** A whole frame into {@code out}. */
    public static void write(ByteBuf out, Frame frame) {
        writeHeader(out, frame.type(), frame.requestId(), frame.payload().length);
        out.writeBytes(frame.payload());
    }

    /** A whole frame in a new buffer from {@code alloc}; the caller owns it. */
    public static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
        ByteBuf out = alloc.ioBuffer(frame.encodedLength());
        write(out, frame);
        return out;
    }
}
