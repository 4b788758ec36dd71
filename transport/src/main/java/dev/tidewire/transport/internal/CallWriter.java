package dev.tidewire.transport.internal;

import dev.tidewire.Metadata;
import dev.tidewire.NotProcessedException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.util.collection.LongObjectHashMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.zip.CRC32C;

/**
 * Admission and writing for one connection, confined to its event loop.
 *
 * <p>A call taken from the submission queue is written at once if an in-flight slot is free, the
 * channel is within its outbound byte budget (Netty's write-buffer water marks) and no call waits
 * ahead of it; otherwise it joins {@code waiting}, in order, with a timer for its deadline. Slots
 * coming back and the channel becoming writable again admit waiting calls.
 *
 * <p>Writing a call assigns the next request id (ids rise strictly on the wire) and registers the
 * call in {@code inFlight} <em>before</em> its bytes are handed to the channel, so a reply always
 * finds it. Small frames are gathered into one buffer of up to {@code writeBufferSize} bytes; a
 * larger frame goes out as its header and the caller's body array, not copied here. Nothing is
 * flushed until the batch ends ({@link #flushIfDirty}): one flush per batch of frames.
 *
 * <p>Checksums: when both HELLOs offered CRC32C, each frame is followed by its trailer, computed
 * over the bytes just gathered (and, for a large request, over the caller's body array), so it
 * costs one pass over bytes that are in cache and no copy.
 *
 * <p>Buffer ownership: {@code gather} belongs to this writer until it is handed to
 * {@link Channel#write}, which takes it over (and releases it, written or failed).
 */
final class CallWriter {
    private final MultiplexedConnection c;
    private final Channel channel;
    private final int gatherSize;
    private final boolean checksum;
    private final int trailer;          // bytes after each frame: 4 with checksums, else 0
    private final CRC32C crc = new CRC32C();
    private final LongObjectHashMap<PendingCall> inFlight = new LongObjectHashMap<>();
    private final ArrayDeque<PendingCall> waiting = new ArrayDeque<>();
    private ByteBuf gather;
    private boolean dirty;
    private boolean closed;
    private long nextId;
    private int slotsTaken;
    private volatile long lastIssuedId;
    private volatile int waitingCount;
    private volatile int registered;
    private volatile long framesWritten;
    private volatile long flushes;

    CallWriter(MultiplexedConnection c) {
        this.c = c;
        this.channel = c.channel;
        this.gatherSize = c.options.writeBufferSize();
        this.checksum = c.checksum;
        this.trailer = checksum ? Protocol.CHECKSUM_LENGTH : 0;
    }

    // ------------------------------------------------------------ admission

    /** Moves every submitted call to the wire or to the waiting line. */
    void drainSubmitted() {
        long now = System.nanoTime();
        for (PendingCall call; (call = c.submitted.poll()) != null; ) {
            if (call.isClaimed()) {
                continue; // cancelled while queued: nothing was sent, nothing is held
            }
            TidewireException refusal = refusalBeforeWrite(call);
            if (refusal != null) {
                call.fail(refusal);
            } else if (call.isExpired(now)) {
                call.timeout(now, "waited for the connection's event loop");
            } else {
                if (!waiting.isEmpty()) {
                    admitWaiting(); // those ahead first (and drop ended ones at the head)
                }
                if (!waiting.isEmpty() || !canAdmit()) {
                    await(call, now);
                } else {
                    write(call, now);
                }
            }
        }
    }

    private boolean canAdmit() {
        return slotsTaken < c.maxInFlight && channel.isWritable();
    }

    private void await(PendingCall call, long now) {
        waiting.addLast(call);
        waitingCount = waiting.size();
        call.waitTimer = c.loop.schedule(() -> {
            call.timeout(System.nanoTime(), waitingFor());
            admitWaiting(); // drops ended calls at the head, admits what may go now
            flushIfDirty();
        }, Math.max(0, call.deadlineNanos() - now), TimeUnit.NANOSECONDS);
    }

    private String waitingFor() {
        return slotsTaken >= c.maxInFlight ? "waited for a free in-flight slot (limit " + c.maxInFlight + ")"
                : "waited for the connection's outbound budget (" + c.queuedBytes() + " bytes queued for the"
                        + " socket, budget " + c.options.outboundBudget() + ")";
    }

    /** Admits waiting calls while slots and budget allow. */
    void admitWaiting() {
        long now = waiting.isEmpty() ? 0 : System.nanoTime();
        while (!waiting.isEmpty() && canAdmit()) {
            PendingCall next = waiting.pollFirst();
            if (next.waitTimer != null) {
                next.waitTimer.cancel(false);
                next.waitTimer = null;
            }
            if (next.isClaimed()) {
                continue;
            }
            TidewireException refusal = refusalBeforeWrite(next);
            if (refusal != null) {
                next.fail(refusal);
            } else {
                write(next, now);
            }
        }
        dropClaimedHead();
        waitingCount = waiting.size();
    }

    private void dropClaimedHead() {
        while (!waiting.isEmpty() && waiting.peekFirst().isClaimed()) {
            PendingCall ended = waiting.pollFirst();
            if (ended.waitTimer != null) {
                ended.waitTimer.cancel(false); // else it would hold the call (and its body) until its deadline
                ended.waitTimer = null;
            }
        }
    }

    /** Why a call must not be written now, or null to write it. */
    private TidewireException refusalBeforeWrite(PendingCall call) {
        if (c.goAwayReceived) {
            return new NotProcessedException("op '" + call.op() + "' was not sent: server " + c.address
                    + " sent GOAWAY", null);
        }
        if (c.state() == dev.tidewire.transport.Connection.State.CLOSED) {
            return c.failureFor(call, false);
        }
        return null;
    }

    /**
     * What a claimed call gives back: its registration, its slot, and, if it was written but its
     * reply never came, a CANCEL. The CANCEL goes out before the slot admits a waiting call.
     */
    void release(PendingCall call, int prior) {
        if (call.waitTimer != null) {
            call.waitTimer.cancel(false);
            call.waitTimer = null;
        }
        if (prior != PendingCall.SENT) {
            return; // never written: held no slot (a waiting one is dropped when the line moves)
        }
        boolean wasRegistered = inFlight.remove(call.id) != null;
        registered = inFlight.size();
        if (wasRegistered && !closed) {
            // still registered, so no reply took it: the caller gave up (timeout, cancel)
            writeControl(FrameType.CANCEL, call.id);
        }
        slotsTaken--;
        admitWaiting();
    }

    // ------------------------------------------------------------ writing

    /** Writes {@code call}; {@code now} (a recent {@link System#nanoTime()}) dates its remaining time. */
    private void write(PendingCall call, long now) {
        long id = ++nextId;
        call.id = id;
        inFlight.put(id, call);
        if (!call.markSent()) {
            inFlight.remove(id); // claimed meanwhile: never written
            call.id = 0;
            return;
        }
        lastIssuedId = id;
        registered = inFlight.size();
        call.sent = true;
        slotsTaken++;
        byte[] op = call.opBytes();
        byte[] body = call.body();
        Metadata md = call.metadata();
        long timeoutMillis = md == null ? 0 : RequestPayload.timeoutField(call.deadlineNanos() - now);
        int length = md == null ? Frames.requestLength(op, body)
                : Protocol.HEADER_LENGTH + RequestPayload.extendedLength(op, md, body);
        if (length + trailer <= gatherSize) {
            ByteBuf out = gatherFor(length + trailer);
            int start = out.writerIndex();
            if (md == null) {
                Frames.writeRequest(out, id, op, body);
            } else {
                Frames.writeRequestExt(out, id, op, timeoutMillis, md, body);
            }
            if (checksum) {
                Frames.writeChecksum(out, start, crc);
            }
        } else {
            ByteBuf head = gatherFor(length - body.length);
            int start = head.writerIndex();
            if (md == null) {
                Frames.writeHeader(head, FrameType.REQUEST, id, length - Protocol.HEADER_LENGTH);
                head.writeByte(op.length);
                head.writeBytes(op);
            } else {
                Frames.writeHeader(head, FrameType.REQUEST_EXT, id, length - Protocol.HEADER_LENGTH);
                Frames.writeRequestExtPrefix(head, op, timeoutMillis, md);
            }
            if (checksum) {
                crc.reset();
                Frames.update(crc, head, start, head.writerIndex() - start);
                crc.update(body, 0, body.length);
            }
            writeGather();
            channel.write(Unpooled.wrappedBuffer(body), channel.voidPromise());
            if (checksum) {
                gatherFor(trailer).writeInt((int) crc.getValue()); // goes out right after the body
            }
        }
        framesWritten++;
        dirty = true;
    }

    /** Writes a control frame (PING, PONG, CANCEL); flushed with the batch. */
    void writeControl(FrameType type, long id) {
        if (closed) {
            return;
        }
        ByteBuf out = gatherFor(Protocol.HEADER_LENGTH + trailer);
        int start = out.writerIndex();
        Frames.write(out, Frame.of(type, id));
        if (checksum) {
            Frames.writeChecksum(out, start, crc);
        }
        framesWritten++;
        dirty = true;
    }

    private ByteBuf gatherFor(int bytes) {
        if (gather != null && gather.writableBytes() < bytes) {
            writeGather();
        }
        if (gather == null) {
            gather = channel.alloc().ioBuffer(Math.max(bytes, Math.min(gatherSize, 4096)), Math.max(bytes, gatherSize));
        }
        return gather;
    }

    private void writeGather() {
        if (gather != null) {
            ByteBuf out = gather;
            gather = null;
            channel.write(out, channel.voidPromise());
        }
    }

    /** Ends a batch: hands the gathered frames to the channel and flushes once. */
    void flushIfDirty() {
        if (!dirty || closed) {
            return;
        }
        dirty = false;
        writeGather();
        channel.flush();
        flushes++;
    }

    // ------------------------------------------------------------ replies and failure

    /** Removes and returns the call registered under {@code id}, or null. */
    PendingCall take(long id) {
        PendingCall call = inFlight.remove(id);
        if (call != null) {
            registered = inFlight.size();
        }
        return call;
    }

    long lastIssuedId() {
        return lastIssuedId;
    }

    /** Calls in flight whose deadline has passed, collected into {@code out}. */
    void expired(long now, List<PendingCall> out) {
        for (PendingCall call : inFlight.values()) {
            if (call.isExpired(now)) {
                out.add(call);
            }
        }
    }

    /** Fails every waiting call with {@code error} (after GOAWAY). */
    void failWaiting(Function<PendingCall, TidewireException> error) {
        for (PendingCall w; (w = waiting.pollFirst()) != null; ) {
            if (w.waitTimer != null) {
                w.waitTimer.cancel(false);
                w.waitTimer = null;
            }
            w.fail(error.apply(w));
        }
        waitingCount = 0;
    }

    /** The connection failed: every call, written or not, ends now; buffers are released. */
    void failAll() {
        closed = true;
        if (gather != null) {
            gather.release();
            gather = null;
        }
        dirty = false;
        List<PendingCall> written = new ArrayList<>(inFlight.values());
        for (PendingCall call : written) {
            call.fail(c.failureFor(call, true));
        }
        inFlight.clear();
        registered = 0;
        failWaiting(w -> c.failureFor(w, false));
    }

    /** Nothing in flight, waiting or submitted. */
    boolean isEmpty() {
        dropClaimedHead();
        return inFlight.isEmpty() && waiting.isEmpty() && c.submitted.isEmpty();
    }

    int registeredCount() {
        return registered;
    }

    int waitingCount() {
        return waitingCount;
    }

    long framesWritten() {
        return framesWritten;
    }

    long flushes() {
        return flushes;
    }
}
