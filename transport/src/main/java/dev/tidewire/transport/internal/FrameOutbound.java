package dev.tidewire.transport.internal;

import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import java.nio.ByteBuffer;

/** A ready frame (control frames, server replies) as an {@link Outbound}. */
public final class FrameOutbound implements Outbound {
    private final Frame frame;

    public FrameOutbound(Frame frame) {
        this.frame = frame;
    }

    @Override
    public boolean prepare() {
        return true;
    }

    @Override
    public int encodedLength() {
        return frame.encodedLength();
    }

    @Override
    public void encodeTo(ByteBuffer out) {
        FrameEncoder.write(out, frame);
    }

    @Override
    public void abandon() {
        // a control frame or reply on a dead connection has no one waiting for it
    }

    @Override
    public String toString() {
        return frame.toString();
    }
}
