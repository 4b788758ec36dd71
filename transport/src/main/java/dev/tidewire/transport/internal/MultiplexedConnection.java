package dev.tidewire.transport.internal;

import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectionLostException;
import dev.tidewire.Metadata;
import dev.tidewire.NotProcessedException;
import dev.tidewire.ProtocolException;
import dev.tidewire.RequestTooLargeException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.ChecksumMismatchException;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.ConnectionStats;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@link Connection} implementation on a Netty channel. The connection's lifecycle and its
 * public face live here; the work is split by concern:
 * <ul>
 *   <li>{@link Handshake}: connect, TLS, HELLO;</li>
 *   <li>{@link CallWriter}: admission (in-flight slots, the outbound byte budget, waiting calls)
 *       and writing requests in batches, one flush per batch;</li>
 *   <li>{@link CallReader}: decoding frames and settling calls by id;</li>
 *   <li>{@link ConnectionTimer}: deadlines, heartbeat, stalled writes and unfinished frames, once a tick.</li>
 * </ul>
 *
 * <p>Threads: any thread may submit, flush, cancel, shut down or close; everything else runs on
 * the channel's event loop, which owns the request ids, the map of calls in flight, the slots and
 * the waiting calls. Callers hand calls to the loop through a lock-free queue and at most one
 * scheduled flush task at a time, so a caller never writes to the socket and never waits for it.
 * Futures complete on the loop only when the caller asked for that (a {@code null} executor:
 * callers that block on the future); otherwise on their executor.
 *
 * <p>Failure: {@link #failConnection} sets CLOSED at once, from any thread, then the loop sweeps
 * every call (in flight, waiting, queued) to its outcome and closes the channel. Every path that
 * adds a call re-checks CLOSED after adding, so no call is stranded by a concurrent failure.
 */
public final class MultiplexedConnection implements Connection {
    private static final System.Logger LOG = System.getLogger(MultiplexedConnection.class.getName());
    // Read errors that are not the peer's protocol violations (bugs): one line per address and window.
    private static final RateLimitedLog READ_ERRORS = new RateLimitedLog(LOG);
    private static final AtomicInteger IDS = new AtomicInteger();

    final int number = IDS.incrementAndGet();
    final InetSocketAddress address;
    final ConnectionOptions options;
    final TransportResources resources;
    final Channel channel;
    final EventLoop loop;
    final int peerMaxFrameSize;
    final int maxInFlight;
    /** Both HELLOs offered CRC32C: every frame after them, both ways, carries a trailer. */
    final boolean checksum;
    /** The server accepts REQUEST_EXT (deadline and metadata) within these limits; null if it does not. */
    final Hello.MetadataLimits metadataLimits;
    private final boolean ownsResources;
    private final Executor defaultCompletion;

    final CallWriter writer;
    final CallReader reader;
    private final ConnectionTimer timer;

    /** Calls accepted and not yet ended (claimed); any thread. */
    private final AtomicInteger outstanding = new AtomicInteger();
    final ConcurrentLinkedQueue<PendingCall> submitted = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final Runnable flushTask;
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private final AutoCloseable tickRegistration;

    volatile boolean goAwayReceived;
    volatile long goAwayLastId = Long.MAX_VALUE;
    private volatile RuntimeException closeReason;
    // Written on the loop only (a sent call's timeout counts up, a reply resets); read by the pool.
    volatile int timeoutsSinceReply;
    volatile long lastReplyNanos = System.nanoTime(); // written on the loop when a reply arrives
    private boolean swept; // loop only

    MultiplexedConnection(InetSocketAddress address, ConnectionOptions options, TransportResources resources,
            boolean ownsResources, Channel channel, FrameDecoder decoder, Hello serverHello) {
        this.address = address;
        this.options = options;
        this.resources = resources;
        this.ownsResources = ownsResources;
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.peerMaxFrameSize = serverHello.maxFrameSize();
        this.maxInFlight = serverHello.maxInFlight() > 0
                ? Math.min(serverHello.maxInFlight(), options.maxInFlight()) : options.maxInFlight();
        this.checksum = options.checksumOffered() && serverHello.checksum();
        this.metadataLimits = serverHello.metadata();
        this.defaultCompletion = options.callbackExecutor() != null ? options.callbackExecutor()
                : resources.callbackExecutor();
        this.writer = new CallWriter(this);
        this.reader = new CallReader(this, decoder);
        this.timer = new ConnectionTimer(this);
        this.flushTask = this::runFlush;
        this.tickRegistration = resources.onTick(loop, timer::tick);
        channel.closeFuture().addListener(f -> onChannelClosed());
    }

    /**
     * Connects, runs the TLS handshake when {@link ConnectionOptions#tls()} is set (with host name
     * verification) and exchanges HELLO, all within the connect timeout.
     *
     * @throws dev.tidewire.ConnectFailedException  if the connection cannot be made in time (retryable)
     * @throws dev.tidewire.AuthenticationException if the server refuses the credentials (ERROR code 4)
     * @throws dev.tidewire.TlsException            if the TLS handshake fails (untrusted or expired
     *                                              certificate, host name mismatch, client certificate
     *                                              required but missing)
     * @throws IllegalStateException                if called on a Tidewire event loop
     */
    public static MultiplexedConnection open(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources, boolean ownsResources) {
        return Handshake.open(address, options, resources, ownsResources);
    }

    /** Starts to connect; see {@link dev.tidewire.transport.Connection#connect}. Any thread. */
    public static CompletableFuture<MultiplexedConnection> connect(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources) {
        return Handshake.connect(address, options, resources, false);
    }

    // ---------------------------------------------------------------- calls (any thread)

    @Override
    public CompletableFuture<byte[]> call(String op, byte[] body, Duration timeout) {
        return call(op, body, Deadline.after(timeout), defaultCompletion);
    }

    @Override
    public CompletableFuture<byte[]> call(String op, byte[] body, Metadata metadata, Deadline deadline,
            Executor completion) {
        return submit(op, body, metadata, deadline, completion, true);
    }

    @Override
    public CompletableFuture<byte[]> enqueue(String op, byte[] body, Metadata metadata, Deadline deadline,
            Executor completion) {
        return submit(op, body, metadata, deadline, completion, false);
    }

    @Override
    public boolean supportsMetadata() {
        return metadataLimits != null;
    }

    @Override
    public void flush() {
        if (!WriteBatch.defer(this)) {
            scheduleFlush();
        }
    }

    /** The last op sent and its UTF-8 bytes (never written to: they are only copied into frames). */
    private record EncodedOp(String op, byte[] bytes) {
    }

    /** Written by any submitting thread, a whole record at a time: a stale read only costs an encode. */
    private volatile EncodedOp lastOp;

    /**
     * The op's bytes ({@link RequestPayload#opBytes}, which checks them): most connections carry
     * one or a few ops, so the last one is kept and a call with the same op skips the encode.
     */
    private byte[] opBytes(String op) {
        EncodedOp last = lastOp;
        if (last != null && last.op.equals(op)) {
            return last.bytes;
        }
        byte[] bytes = RequestPayload.opBytes(op);
        lastOp = new EncodedOp(op, bytes);
        return bytes;
    }

    private CompletableFuture<byte[]> submit(String op, byte[] body, Metadata metadata, Deadline deadline,
            Executor completion, boolean flush) {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(deadline, "deadline");
        byte[] opBytes = opBytes(op);
        TidewireException refusal = refusalOfNewCall(op);
        if (refusal != null) {
            return CompletableFuture.failedFuture(refusal);
        }
        int size;
        if (metadataLimits == null) {
            metadata = null; // a server that does not announce metadata never receives it (nor a deadline)
            size = RequestPayload.length(opBytes, body);
        } else {
            if (metadata.size() > metadataLimits.maxEntries() || metadata.encodedLength() > metadataLimits.maxBytes()) {
                return CompletableFuture.failedFuture(RequestTooLargeException.metadata(op, metadata.size(),
                        metadata.encodedLength(), metadataLimits.maxEntries(), metadataLimits.maxBytes()));
            }
            size = RequestPayload.extendedLength(opBytes, metadata, body);
        }
        if (size > peerMaxFrameSize) {
            return CompletableFuture.failedFuture(new RequestTooLargeException(op, size, peerMaxFrameSize));
        }
        PendingCall call = new PendingCall(this, op, opBytes, body, metadata, deadline, completion);
        outstanding.incrementAndGet();
        submitted.offer(call);
        if (flush) {
            flush();
        }
        if (state.get() == State.CLOSED) {
            scheduleFlush(); // the loop fails what is queued; no call is stranded by a concurrent close
        }
        return call;
    }

    /**
     * Has the loop write what is queued, once: at most one flush task is scheduled at a time, so
     * under load many callers' requests share one task and one flush.
     */
    void scheduleFlush() {
        if (flushScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(flushTask);
            } catch (RejectedExecutionException e) {
                flushScheduled.set(false);
                failQueuedHere();
            }
        }
    }

    private void runFlush() {
        flushScheduled.set(false);
        writer.drainSubmitted();
        writer.flushIfDirty();
    }

    /** The loop is gone (resources closed): settle what is queued on this thread. */
    private void failQueuedHere() {
        if (state.get() != State.CLOSED) {
            state.set(State.CLOSED);
            closeReason = new ClientClosedException("connection to " + address + " lost its event loop (transport"
                    + " resources closed)");
        }
        for (PendingCall c; (c = submitted.poll()) != null; ) {
            c.fail(failureFor(c, false));
        }
    }

    TidewireException refusalOfNewCall(String op) {
        State s = state.get();
        if (s == State.OPEN) {
            return null;
        }
        if (s == State.DRAINING) {
            return new NotProcessedException("op '" + op + "' was not sent: connection to " + address + " is draining"
                    + (goAwayReceived ? " (server sent GOAWAY)" : " (shutdown requested)"), null);
        }
        if (closeReason instanceof ClientClosedException) {
            return new ClientClosedException("op '" + op + "' refused: connection to " + address + " was closed by the client");
        }
        return new NotProcessedException("op '" + op + "' was not sent: " + describeClosed(), closeReason);
    }

    /** A call was claimed (any thread): it no longer counts as in flight. */
    void onClaimed() {
        outstanding.decrementAndGet();
    }

    /** A call claimed on the loop gives back what it held ({@code prior}: its state before the claim). */
    void releaseOnLoop(PendingCall call, int prior) {
        writer.release(call, prior);
    }

    /** A call cancelled on any thread: the loop sends CANCEL if it was written, and gives back its slot. */
    void afterCancel(PendingCall call, int prior) {
        if (loop.inEventLoop()) {
            releaseCancelled(call, prior);
            return;
        }
        try {
            loop.execute(() -> releaseCancelled(call, prior));
        } catch (RejectedExecutionException e) {
            // the loop is gone and the connection with it: nothing to send, no slot to return
        }
    }

    /** Loop: what a cancelled call held goes back; a waiting one no longer holds up those behind it. */
    private void releaseCancelled(PendingCall call, int prior) {
        writer.release(call, prior);
        writer.admitWaiting();
        writer.flushIfDirty();
    }

    Executor fallbackExecutor() {
        return resources.callbackExecutor();
    }

    // ---------------------------------------------------------------- reading (loop)

    ChannelHandler inbound() {
        return reader;
    }

    void onFrame(dev.tidewire.protocol.Frame frame) {
        reader.onFrame(frame);
    }

    void afterRead() {
        writer.flushIfDirty();
    }

    void readFailed(RuntimeException e) {
        if (e instanceof TidewireException t) {
            failConnection(t);
        } else {
            READ_ERRORS.failure(Level.ERROR, "reading from " + address,
                    () -> "reading from " + address + " failed: " + e, e);
            failConnection(new ConnectionLostException("reading from " + address + " failed: " + e, e));
        }
    }

    /**
     * The server sent GOAWAY: drain, refusing calls not yet written. Loop. A later GOAWAY may lower
     * the last id, never raise it (protocol.md 11.2): the lowest id received counts. An id above every
     * id sent leaves every sent call to be answered.
     */
    void onGoAway(long lastId, String reason) {
        if (lastId < goAwayLastId) {
            goAwayLastId = lastId;
        }
        goAwayReceived = true;
        state.compareAndSet(State.OPEN, State.DRAINING);
        LOG.log(Level.DEBUG, () -> "server " + address + " sent GOAWAY (last id " + lastId + ", counting "
                + goAwayLastId + "): " + reason);
        writer.failWaiting(c -> new NotProcessedException("op '" + c.op() + "' was not sent: server " + address
                + " sent GOAWAY (" + reason + ")", null));
    }

    // ---------------------------------------------------------------- closing

    @Override
    public CompletableFuture<Void> shutdown() {
        if (state.compareAndSet(State.OPEN, State.DRAINING)) {
            scheduleFlush(); // let the loop see it; the timer closes the connection once it is empty
        }
        return closeFuture;
    }

    /** Whether the connection is DRAINING with nothing left to do. Loop. */
    boolean drained() {
        return state.get() == State.DRAINING && writer.isEmpty();
    }

    @Override
    public void close() {
        closeCleanly(new ClientClosedException("connection to " + address + " closed by the client"),
                "closed by the client");
        if (!NettyRuntime.onEventLoop()) {
            try {
                closeFuture.get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // closing is best effort; the loop finishes it
            }
        }
    }

    /**
     * Fails the connection once: CLOSED at once (new calls are refused from now on), then, on the
     * loop, every call in every place and the channel. Safe from any thread, any number of times.
     */
    void failConnection(TidewireException reason) {
        end(reason, null);
    }

    /**
     * Ends the connection as {@link #failConnection} does, but as what it is: no failure (the
     * client closed it, a drain finished, the server closed it with no call in flight).
     * {@code how} says which, in the DEBUG line.
     */
    void closeCleanly(TidewireException reason, String how) {
        end(reason, how);
    }

    private void end(TidewireException reason, String cleanly) {
        State previous = state.getAndSet(State.CLOSED);
        if (previous == State.CLOSED) {
            return;
        }
        closeReason = reason;
        if (cleanly != null) {
            LOG.log(Level.DEBUG, () -> "connection to " + address + " closed: " + cleanly);
        } else {
            LOG.log(Level.DEBUG, () -> "connection to " + address + " failed: " + reason.getMessage());
        }
        if (loop.inEventLoop()) {
            sweep();
            return;
        }
        try {
            loop.execute(this::sweep);
        } catch (RejectedExecutionException e) {
            failQueuedHere();
            closeFuture.complete(null);
        }
    }

    /** Loop: closes the channel and ends every call still anywhere. */
    private void sweep() {
        if (swept) {
            return;
        }
        swept = true;
        closeQuietly(tickRegistration);
        // every call ends before the channel closes: closing may release the resources' threads
        writer.failAll();
        for (PendingCall c; (c = submitted.poll()) != null; ) {
            c.fail(failureFor(c, false));
        }
        channel.close();
    }

    private void onChannelClosed() {
        // the peer or the OS closed it, or we did: either way every call must end
        // (close-future listeners run on the channel's loop)
        if (drained() && inFlight() == 0) {
            // a GOAWAY (or our shutdown) drained it and the server then closed it: nothing was lost
            closeCleanly(new NotProcessedException("connection to " + address + " drained and closed by the server",
                    null), "drained" + (goAwayReceived ? " after the server's GOAWAY" : "")
                    + ", then closed by the server");
        } else if (inFlight() == 0 && !reader.midFrame()) {
            // e.g. the server's idle timeout: no call was lost (the pool still reconnects as after a loss)
            closeCleanly(new ConnectionLostException("server " + address + " closed the connection", null),
                    "closed by the server with no call in flight");
        } else {
            failConnection(new ConnectionLostException("server " + address + " closed the connection"
                    + (reader.midFrame() ? " in the middle of a frame" : ""), null));
        }
        sweep();
        closeFuture.complete(null);
        if (ownsResources) {
            resources.close();
        }
    }

    /** The error a call left on a closed connection ends with. */
    TidewireException failureFor(PendingCall call, boolean sent) {
        RuntimeException reason = closeReason;
        String what = "op '" + call.op() + "'" + (sent ? " (request " + call.id + ")" : "");
        if (!sent) {
            return new NotProcessedException(what + " was not sent: " + describeClosed(), reason);
        }
        if (call.id > goAwayLastId) {
            return new NotProcessedException(what + " was not processed: the server's GOAWAY named last id "
                    + goAwayLastId, reason);
        }
        if (reason instanceof ClientClosedException) {
            return new ClientClosedException(what + " was in flight when the connection to " + address
                    + " was closed by the client; it may have been processed");
        }
        if (reason instanceof ProtocolException && !(reason instanceof ChecksumMismatchException)) {
            // a corrupted frame is the network's fault, not the peer's: a lost connection, below
            return new ProtocolException(what + " failed: the connection to " + address
                    + " was closed on a protocol violation; it may have been processed", reason);
        }
        return new ConnectionLostException(what + " failed: " + (reason == null ? "connection closed" : reason.getMessage())
                + "; it may have been processed", reason);
    }

    String describeClosed() {
        RuntimeException reason = closeReason;
        return "connection to " + address + " is closed" + (reason == null ? "" : " (" + reason.getMessage() + ")");
    }

    // ---------------------------------------------------------------- accessors

    @Override
    public InetSocketAddress remoteAddress() {
        return address;
    }

    @Override
    public State state() {
        return state.get();
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public boolean inEventLoop() {
        return loop.inEventLoop();
    }

    @Override
    public int timeoutsSinceLastReply() {
        return timeoutsSinceReply;
    }

    @Override
    public long lastReplyNanos() {
        return lastReplyNanos;
    }

    @Override
    public long lastReadNanos() {
        return reader.lastReadNanos();
    }

    @Override
    public ConnectionStats stats() {
        return new ConnectionStats(writer.framesWritten(), writer.flushes(), reader.framesRead(),
                reader.lateResponses(), inFlight(), writer.waitingCount());
    }

    /** Whether frames on this connection carry CRC32C trailers (both HELLOs offered them). */
    public boolean checksum() {
        return checksum;
    }

    /** Calls registered under an id and not yet ended (for tests and leak checks). */
    public int pendingCount() {
        return writer.registeredCount();
    }

    /** Bytes queued for the socket and not yet written (for tests: the outbound budget at work). */
    public long queuedBytes() {
        return channel.unsafe().outboundBuffer() == null ? 0 : channel.unsafe().outboundBuffer().totalPendingWriteBytes();
    }

    @Override
    public CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    @Override
    public RuntimeException closeReason() {
        return closeReason;
    }

    @Override
    public String toString() {
        return "Connection#" + number + "[" + address + ", " + state.get() + ", inFlight=" + inFlight() + "]";
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing is best effort
        }
    }
}
