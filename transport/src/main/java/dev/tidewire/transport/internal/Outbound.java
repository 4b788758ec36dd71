package dev.tidewire.transport.internal;

import java.nio.ByteBuffer;

/**
 * Something the {@link FrameWriter} can put on the wire. Implementations are called only by the
 * thread that currently owns the writer (see {@link FrameWriter}), one at a time.
 */
public interface Outbound {
    /**
     * Called just before encoding. Returns {@code false} to skip this item (e.g. a call that timed
     * out while queued); nothing is written for it then. May assign the request id.
     */
    boolean prepare();

    /** Bytes {@link #encodeTo} will put, header included. Valid after {@link #prepare()}. */
    int encodedLength();

    /** Puts the whole frame into {@code out}, which has at least {@link #encodedLength()} bytes free. */
    void encodeTo(ByteBuffer out);

    /** Called instead of writing when the connection has failed; the item must settle its outcome. */
    void abandon();
}
