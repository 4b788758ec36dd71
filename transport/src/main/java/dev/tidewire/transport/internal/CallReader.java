package dev.tidewire.transport.internal;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.ProtocolException;
import dev.tidewire.RemoteException;
import dev.tidewire.TlsException;
import dev.tidewire.protocol.ChecksumMismatchException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.GoAwayPayload;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLException;

/**
 * The inbound side of one connection, on its event loop: feeds every received buffer to the
 * {@link FrameDecoder} (which copies the bytes out, so the buffer is released at once), settles
 * calls by the id of each reply, answers PING, handles GOAWAY, and fails the connection on a
 * protocol violation or an error from the channel.
 *
 * <p>Liveness: {@code lastFrameNanos} is the time a frame last <em>completed</em>; the heartbeat
 * judges the peer by it, not by bytes, so a connection whose decoder waits for a frame that never
 * ends (a corrupted length, bytes trickling in) is failed within the heartbeat timeout whatever
 * bytes still arrive. {@code lastReadNanos} is the time any bytes last arrived (for
 * {@code Connection.lastReadNanos()}); {@code frameStartNanos} is when the frame now being
 * received began (0 between frames), for the bound on how long one frame may take
 * ({@link ConnectionTimer}).
 */
final class CallReader extends ChannelInboundHandlerAdapter {
    private static final long REPLY_TIME_GRANULARITY_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1);
    private final MultiplexedConnection c;
    private final FrameDecoder decoder;
    private volatile long lastReadNanos = System.nanoTime();
    private volatile long lastFrameNanos = lastReadNanos;
    private long frameStartNanos;
    private long readNanos = System.nanoTime(); // loop only: the time of the read being decoded
    private volatile long framesRead;
    private volatile long lateResponses;

    CallReader(MultiplexedConnection c, FrameDecoder decoder) {
        this.c = c;
        this.decoder = decoder;
    }

    /**
     * Decodes one buffer. The blocking callers whose calls it completes are woken once all of it
     * has been decoded, by this loop with the help of the callers it wakes first
     * ({@link BlockingWait}); the {@code finally} makes sure none is left unwoken.
     */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        BlockingWait.Relay relay = NettyRuntime.currentRelay(); // null only off Tidewire's loops
        if (relay != null) {
            relay.begin();
        }
        long now = System.nanoTime();
        lastReadNanos = now;
        readNanos = now;
        long framesBefore = decoder.framesDecoded();
        boolean wasIdle = decoder.isIdle();
        try {
            if (buf.nioBufferCount() == 1) {
                decoder.decode(buf.nioBuffer(), this::onFrame);
            } else {
                for (ByteBuffer b : buf.nioBuffers()) {
                    decoder.decode(b, this::onFrame);
                }
            }
        } catch (RuntimeException e) {
            c.readFailed(e);
        } finally {
            buf.release();
            if (relay != null) {
                relay.end();
            }
        }
        if (decoder.framesDecoded() != framesBefore) {
            lastFrameNanos = now;
        }
        if (decoder.isIdle()) {
            frameStartNanos = 0;
        } else if (wasIdle || decoder.framesDecoded() != framesBefore) {
            frameStartNanos = now; // a new frame began in this read
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        c.afterRead(); // PONGs, CANCELs and admitted calls of this read: one flush
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            c.writer.admitWaiting();
            c.writer.flushIfDirty();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause.getCause() instanceof SSLException ? cause.getCause() : cause;
        if (root instanceof SSLException) {
            c.failConnection(new TlsException("TLS on the connection to " + c.address + " failed: "
                    + root.getMessage(), root));
        } else if (c.drained() && c.inFlight() == 0) {
            // reset after its drain (a balancer closing both sides at the server's FIN): nothing was lost
            c.closeCleanly(new NotProcessedException("connection to " + c.address + " drained, then reset: "
                    + cause.getMessage(), null), "drained, then reset by the peer");
        } else {
            c.failConnection(new ConnectionLostException("connection to " + c.address + " failed: "
                    + cause.getMessage(), cause));
        }
    }

    void onFrame(Frame frame) {
        framesRead++;
        switch (frame.type()) {
            case RESPONSE -> onReply(frame, null);
            case ERROR -> {
                ErrorPayload error = ErrorPayload.decode(frame.payload());
                if (frame.requestId() == 0 && error.code() == ErrorCode.CHECKSUM_MISMATCH) {
                    throw new ChecksumMismatchException("server " + c.address + " received a corrupted frame: "
                            + error.message());
                }
                if (frame.requestId() == 0) {
                    throw new ProtocolException("server " + c.address + " reported a connection error "
                            + ErrorCode.describe(error.code()) + ": " + error.message());
                }
                onReply(frame, error);
            }
            case PING -> c.writer.writeControl(FrameType.PONG, frame.requestId());
            case PONG -> {
                // a completed frame proves the peer alive; lastFrameNanos is updated after the read
            }
            case GOAWAY -> c.onGoAway(frame.requestId(), GoAwayPayload.decode(frame.payload()).reason());
            default -> throw new ProtocolException("server " + c.address + " sent an unexpected " + frame.type()
                    + " frame after the handshake");
        }
    }

    private void onReply(Frame frame, ErrorPayload error) {
        long id = frame.requestId();
        PendingCall call = c.writer.take(id);
        if (call == null) {
            long last = c.writer.lastIssuedId();
            if (id <= 0 || id > last) {
                throw new ProtocolException("server " + c.address + " replied to request id " + id
                        + ", which was never issued (last issued: " + last + ")");
            }
            lateResponses++;
            return;
        }
        if (c.timeoutsSinceReply != 0) {
            c.timeoutsSinceReply = 0; // the connection delivers replies
        }
        if (readNanos - c.lastReplyNanos > REPLY_TIME_GRANULARITY_NANOS) {
            // at most one write per millisecond: callers on other cores read this connection's
            // fields on every pick, and a write per reply would keep taking their cache line away
            c.lastReplyNanos = readNanos;
        }
        boolean delivered;
        if (error == null) {
            delivered = call.succeed(frame.payload());
        } else if (error.code() == ErrorCode.NOT_PROCESSED) {
            delivered = call.fail(new NotProcessedException("op '" + call.op() + "' (request " + id
                    + ") was not processed by " + c.address + ": " + error.message(), null));
        } else if (error.code() == ErrorCode.DEADLINE_EXCEEDED) {
            // the server's copy of the call's deadline passed (it runs a little behind ours): the
            // call timed out, whichever side noticed first
            delivered = call.fail(call.timedOut(readNanos));
        } else {
            delivered = call.fail(new RemoteException(call.op(), id, error.code(), error.message()));
        }
        if (!delivered) {
            lateResponses++;
        }
    }

    boolean midFrame() {
        return !decoder.isIdle();
    }

    long frameStartNanos() {
        return frameStartNanos;
    }

    int partialPayloadBytes() {
        return decoder.partialPayloadBytes();
    }

    long lastReadNanos() {
        return lastReadNanos;
    }

    /** When a frame last completed (the handshake's HELLO, at first). */
    long lastFrameNanos() {
        return lastFrameNanos;
    }

    long framesRead() {
        return framesRead;
    }

    long lateResponses() {
        return lateResponses;
    }
}
