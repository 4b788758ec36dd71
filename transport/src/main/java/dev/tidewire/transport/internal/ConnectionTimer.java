package dev.tidewire.transport.internal;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.transport.Connection;
import io.netty.channel.ChannelOutboundBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What one connection checks every timer tick, on its event loop: the heartbeat (PING after read
 * silence, dead after the timeout), deadlines of calls in flight, a write that makes no progress
 * while bytes wait for the socket, a frame that has started and does not finish, and the close of
 * a DRAINING connection once it is empty. Calls waiting for admission have timers of their own
 * ({@link CallWriter}); calls in flight are found here, so a call costs no timer task of its own.
 */
final class ConnectionTimer {
    private final MultiplexedConnection c;
    private final Heartbeat heartbeat;
    private final long writeStallNanos;
    private final long frameReadNanos;
    private final List<PendingCall> expired = new ArrayList<>();
    private long pingNonce;
    private Object stalledMessage;
    private long stalledProgress = -1;
    private long stalledSince;

    ConnectionTimer(MultiplexedConnection c) {
        this.c = c;
        this.heartbeat = new Heartbeat(c.options.heartbeatInterval().toNanos(), c.options.heartbeatTimeout().toNanos());
        this.writeStallNanos = c.options.writeStallTimeout().toNanos();
        this.frameReadNanos = c.options.frameReadTimeout().toNanos();
    }

    void tick(long now) {
        if (c.state() == Connection.State.CLOSED) {
            return;
        }
        long lastFrame = c.reader.lastFrameNanos();
        switch (heartbeat.check(now, lastFrame)) {
            case DEAD -> {
                String bytes = c.reader.lastReadNanos() - lastFrame > 0 ? " (bytes still arrive, but no frame completes)" : "";
                c.failConnection(new ConnectionLostException("no frame from " + c.address + " for "
                        + TimeUnit.NANOSECONDS.toMillis(now - lastFrame) + " ms" + bytes + " (heartbeat timeout "
                        + c.options.heartbeatTimeout().toMillis() + " ms); the peer is presumed dead", null));
                return;
            }
            case PING -> c.writer.writeControl(FrameType.PING, ++pingNonce);
            case NONE -> {
            }
        }
        if (writeStalled(now) || frameUnfinished(now)) {
            return;
        }
        c.writer.expired(now, expired);
        for (int i = 0; i < expired.size(); i++) {
            expired.get(i).timeout(now, "");
        }
        expired.clear();
        // calls queued but not yet flushed (held by a batch): normally none, the loop drains them
        for (var it = c.submitted.iterator(); it.hasNext(); ) {
            PendingCall queued = it.next();
            if (queued.isExpired(now)) {
                queued.timeout(now, "waited in a batch to be sent");
            }
            if (queued.isClaimed()) {
                it.remove(); // ended (timed out, cancelled): nothing left to send
            }
        }
        if (c.drained()) {
            c.closeCleanly(new NotProcessedException("connection to " + c.address + " drained and closed", null),
                    c.goAwayReceived ? "drained after the server's GOAWAY" : "drained (shutdown requested)");
            return;
        }
        c.writer.flushIfDirty();
    }

    /**
     * Bytes wait for the socket and the first of them has not moved since the last check: the peer
     * is not reading. After {@code writeStallTimeout} of that the connection fails, even if the
     * peer still sends (and answers PINGs).
     */
    private boolean writeStalled(long now) {
        ChannelOutboundBuffer out = c.channel.unsafe().outboundBuffer();
        if (out == null || out.totalPendingWriteBytes() == 0) {
            stalledMessage = null;
            return false;
        }
        Object head = out.current();
        long progress = out.currentProgress();
        if (head != stalledMessage || progress != stalledProgress) {
            stalledMessage = head;
            stalledProgress = progress;
            stalledSince = now;
            return false;
        }
        if (now - stalledSince < writeStallNanos) {
            return false;
        }
        c.failConnection(new ConnectionLostException("the connection to " + c.address + " made no write progress for "
                + TimeUnit.NANOSECONDS.toMillis(now - stalledSince) + " ms with " + out.totalPendingWriteBytes()
                + " bytes queued (write stall timeout " + c.options.writeStallTimeout().toMillis()
                + " ms); the peer is not reading", null));
        return true;
    }

    /** A frame began arriving more than {@code frameReadTimeout} ago and is still incomplete. */
    private boolean frameUnfinished(long now) {
        long start = c.reader.frameStartNanos();
        if (start == 0 || now - start < frameReadNanos) {
            return false;
        }
        c.failConnection(new ConnectionLostException("a frame from " + c.address + " began "
                + TimeUnit.NANOSECONDS.toMillis(now - start) + " ms ago and is still incomplete ("
                + c.reader.partialPayloadBytes() + " payload bytes so far; frame read timeout "
                + c.options.frameReadTimeout().toMillis() + " ms)", null));
        return true;
    }
}
