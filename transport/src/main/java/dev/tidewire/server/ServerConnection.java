package dev.tidewire.server;

import dev.tidewire.ProtocolException;
import dev.tidewire.protocol.ChecksumMismatchException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameTooLargeException;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.GoAwayPayload;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.protocol.UnsupportedVersionException;
import dev.tidewire.transport.Deadline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One accepted connection of a {@link TidewireServer}: the last handler of the channel's pipeline.
 *
 * <p>Thread confinement: every field without a comment saying otherwise belongs to the channel's
 * event loop. Frames are decoded, requests accepted and counted, {@link Handler}s run, replies
 * written and timers fired on that loop only. A reply made on another thread (a
 * {@link BlockingHandler} on the handler pool, a stage completed elsewhere) is queued in
 * {@link #completions} and handed to the loop by one task per batch, which writes every queued
 * reply and flushes once. Replies made while a read is being processed are flushed once when the
 * read ends ({@code channelReadComplete}).
 *
 * <p>A request is answered once: {@code inFlight.remove(id)} is the claim, taken on the loop by the
 * reply, a CANCEL, or the connection closing. Because accepting an id, counting it unanswered and
 * choosing the GOAWAY's last id all happen on the loop, every request with an id up to the GOAWAY's
 * id is answered and every later one refused with NOT_PROCESSED, and the drain cannot finish before
 * an accepted request is counted.
 *
 * <p>Backpressure: when the channel turns unwritable (queued reply bytes above the server's
 * outbound budget) the connection stops reading, so the client cannot make it queue more; it reads
 * again once writable, and is closed if it stays unwritable for {@code writeStallTimeout}.
 */
final class ServerConnection extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(ServerConnection.class.getName());
    static final long LINGER_MILLIS = 2000;
    private static final int MAX_ERROR_MESSAGE = 1000;

    private enum Phase { AWAIT_HELLO, OPEN, CLOSED }

    private final TidewireServer server;
    private final Channel channel;
    private final EventLoop loop;
    private final InetAddress remoteHost;
    private final SocketAddress remoteAddress;
    private final EdgeHandler edge;
    private final SslHandler ssl; // null without TLS
    private final FrameDecoder decoder;
    private final Map<Long, ServerCall> inFlight = new HashMap<>();
    // Replies completed off the loop, waiting for the loop (any thread adds; the loop drains).
    private final Queue<Completion> completions = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean closeRequested = new AtomicBoolean();

    private ChannelHandlerContext ctx;
    private Phase phase = Phase.AWAIT_HELLO;
    private int inFlightCount;           // counted against maxInFlightPerConnection
    private int unanswered;              // accepted, reply not yet queued
    private long lastRequestId;
    private boolean draining;
    private boolean drainFinished;
    private boolean discarding;          // after a connection-level ERROR or the drain's FIN: read and drop until EOF
    private boolean authPending;         // the authenticator is deciding; bytes read meanwhile are held
    private ByteBuf held;                // bytes after the HELLO, decoded once it is accepted
    private boolean outputDone;          // the last frame is queued, FIN follows: write nothing more
    private boolean reading;             // between channelRead and the end of that read
    private boolean flushPending;
    private boolean handshakeDone;
    private boolean tlsFailureCounted;
    private boolean tlsFailed;           // the handshake failed: the edge handler closes, lingering
    private boolean closedByServer;
    private long lastReadNanos = System.nanoTime();
    private long lastBusyNanos = lastReadNanos; // its last unanswered request answered, or its queued replies drained
    private long frameStartNanos;        // 0 between frames
    private int framesDecoded;           // frames completed by the current decode call
    private int peerMaxFrameSize = Protocol.MIN_MAX_FRAME_SIZE;
    private boolean checksum;            // both HELLOs offered CRC32C: frames after them carry a trailer
    private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    private ScheduledFuture<?> helloTimer;
    private ScheduledFuture<?> checkTimer;
    private ScheduledFuture<?> stallTimer;

    ServerConnection(TidewireServer server, Channel channel, InetAddress remoteHost, EdgeHandler edge, SslHandler ssl) {
        this.server = server;
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.remoteHost = remoteHost;
        this.remoteAddress = channel.remoteAddress();
        this.edge = edge;
        this.ssl = ssl;
        this.handshakeDone = ssl == null;
        this.decoder = new FrameDecoder(Math.min(server.maxFrameSize(), Protocol.HANDSHAKE_MAX_FRAME_SIZE));
    }

    InetAddress remoteHost() {
        return remoteHost;
    }

    Channel channel() {
        return channel;
    }

    /** Reply bytes queued on this connection and not yet written to the socket. Any thread. */
    long queuedBytes() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    // ---------------------------------------------------------------- channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // counted from accept: bounds the TLS handshake and the HELLO alike
        helloTimer = loop.schedule(this::helloTimedOut, server.helloTimeout().toNanos(), TimeUnit.NANOSECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        try {
            if (discarding || phase == Phase.CLOSED) {
                return;
            }
            lastReadNanos = System.nanoTime();
            if (authPending) {
                hold(buf.nioBuffers(), 0); // decoded once the authenticator has answered
                return;
            }
            if (!reading) {
                reading = true;
                // normally channelReadComplete ends the read first; this task is the safety net
                loop.execute(this::endRead);
            }
            decode(buf);
        } catch (RuntimeException e) {
            server.internalError();
            server.connectionFailures().failure(Level.ERROR, "server connection reading",
                    () -> "server connection from " + remoteAddress + " failed while reading: " + e, e);
            closeNow();
        } finally {
            buf.release();
        }
    }

    /** Feeds the bytes to the decoder; a connection-level error answers and ends the connection. */
    private void decode(ByteBuf buf) {
        if (!buf.isReadable()) {
            return;
        }
        boolean wasIdle = decoder.isIdle();
        framesDecoded = 0;
        try {
            ByteBuffer[] parts = buf.nioBuffers();
            for (int i = 0; i < parts.length; i++) {
                try {
                    decoder.decode(parts[i], this::onFrame);
                } catch (PauseDecoding p) {
                    hold(parts, i); // the rest waits for the authenticator's answer
                    return;
                }
            }
        } catch (Unauthenticated e) {
            refuseUnauthenticated();
            return;
        } catch (ProtocolException e) {
            server.protocolError();
            int code = e instanceof FrameTooLargeException ? ErrorCode.FRAME_TOO_LARGE
                    : e instanceof ChecksumMismatchException ? ErrorCode.CHECKSUM_MISMATCH
                    : e instanceof UnsupportedVersionException ? ErrorCode.UNSUPPORTED_VERSION
                    : ErrorCode.PROTOCOL_ERROR;
            LOG.log(Level.DEBUG, () -> "closing " + remoteAddress + ": " + e.getMessage());
            failConnection(code, e.getMessage());
            return;
        }
        if (decoder.isIdle()) {
            frameStartNanos = 0;
        } else if (wasIdle || framesDecoded > 0 || frameStartNanos == 0) {
            frameStartNanos = System.nanoTime(); // a new frame has started: it must end within frameTimeout
        }
    }

    private void hold(ByteBuffer[] parts, int from) {
        if (held == null) {
            held = ctx.alloc().heapBuffer();
        }
        for (int i = from; i < parts.length; i++) {
            held.writeBytes(parts[i]);
        }
    }

    private void refuseUnauthenticated() {
        server.authenticationFailed();
        LOG.log(Level.DEBUG, () -> "closing " + remoteAddress + ": authentication failed");
        failConnection(ErrorCode.UNAUTHENTICATED, "authentication failed");
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        endRead();
        ctx.fireChannelReadComplete();
    }

    private void endRead() {
        reading = false;
        flushIfPending();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable()) {
            lastBusyNanos = System.nanoTime(); // not idle while its replies were backed up
            if (stallTimer != null) {
                stallTimer.cancel(false);
                stallTimer = null;
            }
            if (phase != Phase.CLOSED && !authPending) {
                channel.config().setAutoRead(true);
                if (frameStartNanos != 0) {
                    frameStartNanos = System.nanoTime(); // the frame's time ran only while we read
                }
            }
        } else {
            // stop reading: the client is not reading its replies, so it must not make us queue more
            channel.config().setAutoRead(false);
            long stall = server.writeStallTimeout().toNanos();
            if (stallTimer == null && stall > 0) {
                stallTimer = loop.schedule(this::writeStalled, stall, TimeUnit.NANOSECONDS);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void writeStalled() {
        stallTimer = null;
        if (phase != Phase.CLOSED && !channel.isWritable()) {
            LOG.log(Level.DEBUG, () -> "closing " + remoteAddress + ": it read none of its replies for "
                    + server.writeStallTimeout());
            closeNow();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (e.isSuccess()) {
                handshakeDone = true;
            } else {
                if (!closedByServer && !tlsFailureCounted) {
                    tlsFailureCounted = true;
                    server.tlsHandshakeFailed();
                    LOG.log(Level.DEBUG, () -> "TLS handshake with " + remoteAddress + " failed: "
                            + e.cause().getMessage());
                }
                // the SslHandler sends its alert and closes: close with a FIN and a lingering read
                // instead, so the close does not reset the connection before the client reads the alert
                tlsFailed = true;
                edge.lingerOnClose();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tlsFailed) {
            return; // the failed handshake's exception: the lingering close is under way
        }
        // I/O errors (reset), TLS record errors: nothing to answer
        LOG.log(Level.DEBUG, () -> "closing " + remoteAddress + ": " + cause);
        closeNow();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!closedByServer && phase != Phase.CLOSED) {
            int open = unanswered;
            LOG.log(Level.DEBUG, () -> "connection from " + remoteAddress + " closed by the client"
                    + (drainFinished ? " after the drain" : open > 0 ? " with " + open + " requests unanswered" : ""));
        }
        closed();
        ctx.fireChannelInactive();
    }

    // ---------------------------------------------------------------- frames

    private void onFrame(Frame frame) {
        framesDecoded++;
        if (discarding) {
            return; // the drain ended within this read: the frames after its FIN are dropped too
        }
        switch (frame.type()) {
            case HELLO -> onHello(frame);
            case REQUEST, REQUEST_EXT -> onRequest(frame);
            case PING -> {
                requireOpen(frame);
                send(Frame.of(FrameType.PONG, frame.requestId()));
            }
            case PONG -> requireOpen(frame);
            case CANCEL -> {
                requireOpen(frame);
                onCancel(frame.requestId());
            }
            default -> throw new ProtocolException("a client must not send " + frame.type() + " frames");
        }
    }

    private void requireOpen(Frame frame) {
        if (phase != Phase.OPEN) {
            throw new ProtocolException(frame.type() + " before HELLO");
        }
    }

    private void onHello(Frame frame) {
        if (phase != Phase.AWAIT_HELLO) {
            throw new ProtocolException("second HELLO on one connection");
        }
        Hello hello = Hello.decode(frame.payload());
        if (hello.version() != Protocol.VERSION) {
            throw new UnsupportedVersionException("client asked for protocol version " + hello.version()
                    + "; this server speaks " + Protocol.VERSION);
        }
        Authenticator authenticator = server.authenticator();
        if (authenticator != Authenticator.ACCEPT_ALL) {
            // an authenticator may block: ask it on the handler pool; meanwhile read nothing more
            try {
                server.handlerPool().execute(() -> {
                    boolean ok = authenticated(hello);
                    execute(() -> helloDecided(hello, ok));
                });
                authPending = true;
                channel.config().setAutoRead(false);
                throw new PauseDecoding();
            } catch (RejectedExecutionException full) {
                if (!authenticated(hello)) { // the pool is saturated: ask on the loop
                    throw new Unauthenticated();
                }
            }
        }
        helloAccepted(hello);
    }

    /** The authenticator's answer, on the loop: answer HELLO, then decode what arrived meanwhile. */
    private void helloDecided(Hello hello, boolean ok) {
        authPending = false;
        ByteBuf rest = held;
        held = null;
        try {
            if (phase != Phase.AWAIT_HELLO || discarding) {
                return; // closed meanwhile (HELLO timeout, server closing)
            }
            if (!ok) {
                refuseUnauthenticated();
            } else {
                helloAccepted(hello);
                if (rest != null) {
                    decode(rest);
                }
            }
            if (phase != Phase.CLOSED && channel.isWritable()) {
                channel.config().setAutoRead(true);
            }
            flushIfPending();
        } catch (RuntimeException e) {
            server.internalError();
            server.connectionFailures().failure(Level.ERROR, "server connection after authentication",
                    () -> "server connection from " + remoteAddress + " failed after authentication: " + e, e);
            closeNow();
        } finally {
            if (rest != null) {
                rest.release();
            }
        }
    }

    private void helloAccepted(Hello hello) {
        peerMaxFrameSize = hello.maxFrameSize();
        decoder.maxFrameSize(server.maxFrameSize());
        boolean offer = server.checksumOffered();
        Hello reply = new Hello(Protocol.VERSION, server.maxFrameSize(), server.maxInFlightPerConnection(),
                "tidewire-server/0.1", Map.of(), offer, server.metadataLimits());
        send(new Frame(FrameType.HELLO, 0, reply.encode()));
        // both offered it: every later frame, both ways, carries a CRC32C trailer (the HELLOs do not)
        checksum = offer && hello.checksum();
        decoder.checksum(checksum);
        phase = Phase.OPEN;
        if (helloTimer != null) {
            helloTimer.cancel(false);
            helloTimer = null;
        }
        scheduleCheck(System.nanoTime());
    }

    private boolean authenticated(Hello hello) {
        try {
            return server.authenticator().authenticate(hello.credentials(), remoteAddress);
        } catch (RuntimeException e) {
            // the exception's text might quote the credentials: log only its type
            String type = e.getClass().getName();
            server.connectionFailures().failure(Level.ERROR, "authenticator",
                    () -> "authenticator threw " + type + "; refusing the client", null);
            return false;
        }
    }

    /** Stops decoding after a HELLO whose authentication runs elsewhere. */
    private static final class PauseDecoding extends RuntimeException {
        PauseDecoding() {
            super("authentication pending", null, false, false);
        }
    }

    /** The authenticator refused the HELLO; carries no text, so nothing can leak. */
    private static final class Unauthenticated extends RuntimeException {
        Unauthenticated() {
            super("authentication failed", null, false, false);
        }
    }

    private void onRequest(Frame frame) {
        requireOpen(frame);
        long id = frame.requestId();
        if (id <= lastRequestId) {
            throw new ProtocolException("request id " + id + " does not exceed the previous id " + lastRequestId
                    + " (ids must rise strictly)");
        }
        lastRequestId = id;
        server.requestReceived();
        if (draining) {
            server.refusedNotProcessed();
            sendError(id, ErrorCode.NOT_PROCESSED, "server is shutting down (GOAWAY sent); request not processed");
            return;
        }
        if (inFlightCount >= server.maxInFlightPerConnection()) {
            server.rejectedOverloaded();
            sendError(id, ErrorCode.OVERLOADED, "more than " + server.maxInFlightPerConnection()
                    + " requests in flight on this connection");
            return;
        }
        int size = frame.payload().length;
        if (!server.reserveRequestBytes(size)) {
            server.rejectedOverloaded();
            sendError(id, ErrorCode.OVERLOADED, "the server holds its maximum of request bytes in flight");
            return;
        }
        RequestPayload payload;
        try {
            if (frame.type() == FrameType.REQUEST) {
                payload = RequestPayload.decode(frame.payload());
            } else {
                Hello.MetadataLimits limits = server.metadataLimits();
                if (limits == null) {
                    throw new ProtocolException("REQUEST_EXT from a client this server did not announce metadata to");
                }
                payload = RequestPayload.decodeExtended(frame.payload(), limits.maxEntries(), limits.maxBytes());
            }
        } catch (ProtocolException e) {
            server.releaseRequestBytes(size);
            sendError(id, ErrorCode.BAD_REQUEST, e.getMessage());
            return;
        }
        inFlightCount++;
        server.observeInFlight(inFlightCount);
        unanswered++;
        long timeoutMillis = payload.timeoutMillis();
        Deadline deadline = timeoutMillis == 0 ? null : new Deadline(System.nanoTime(), timeoutMillis * 1_000_000);
        ServerRequest request = new ServerRequest(payload.op(), id, payload.body(), payload.metadata(), deadline,
                remoteAddress, server.mapper(), loop);
        TidewireServer.Route route = server.route(payload.op());
        ServerCall call = new ServerCall(request, route == null ? "unknown" : payload.op(), size);
        inFlight.put(id, call);
        if (route == null) {
            finish(call, null, new HandlerException(ErrorCode.UNKNOWN_OP, "no handler for op '" + payload.op() + "'"));
            return;
        }
        // a blocking handler runs on the handler pool behind a stage, with or without interceptors,
        // so a full queue is answered and counted one way
        runInline(call, route.handler() != null && server.interceptors().isEmpty() ? route.handler()
                : server.intercepted(route, r -> submitBlocking(call, route.blockingHandler())));
        if (deadline != null && inFlight.get(id) == call) {
            // still running: at the deadline the caller has given up; so does the server
            call.deadlineTimer = loop.schedule(() -> deadlinePassed(call), deadline.remainingNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void runInline(ServerCall call, Handler handler) {
        CompletionStage<byte[]> stage;
        ServerRequest previous = ServerRequest.enter(call.request);
        try {
            stage = handler.handle(call.request);
        } catch (Throwable e) {
            finish(call, null, e);
            return;
        } finally {
            ServerRequest.exit(previous);
        }
        if (stage == null) {
            finish(call, null, new NullPointerException("handler returned no stage"));
            return;
        }
        if (call.work == null) {
            call.work = stage.toCompletableFuture();
        }
        stage.whenComplete((value, error) -> complete(call, value, error));
    }

    /**
     * Runs {@code handler} on a handler-pool thread, with the request {@link ServerRequest#current()
     * current} there, unless its deadline passed while it waited for the thread.
     */
    private byte[] runOnWorker(ServerCall call, BlockingHandler handler) throws Exception {
        Deadline deadline = call.request.deadlineOrNull();
        if (deadline != null && deadline.isExpired(System.nanoTime())) {
            server.deadlineExceeded();
            throw new HandlerException(ErrorCode.DEADLINE_EXCEEDED, "the request's deadline ("
                    + deadline.limit().toMillis() + " ms) passed while it waited for a handler thread; not run");
        }
        ServerRequest previous = ServerRequest.enter(call.request);
        try {
            return handler.handle(call.request);
        } finally {
            ServerRequest.exit(previous);
        }
    }

    /**
     * A blocking handler's run on the handler pool as a stage; cancelling the stage interrupts it.
     * A full queue gives a stage failed with OVERLOADED (the handler never runs).
     */
    private CompletableFuture<byte[]> submitBlocking(ServerCall call, BlockingHandler handler) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        Future<?> work;
        try {
            work = server.handlerPool().submit(server.onWorker(() -> {
                try {
                    result.complete(runOnWorker(call, handler));
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            }));
        } catch (RejectedExecutionException e) {
            server.rejectedOverloaded();
            return CompletableFuture.failedFuture(new HandlerException(ErrorCode.OVERLOADED, "handler queue is full"));
        }
        call.work = result;
        result.whenComplete((v, e) -> {
            if (result.isCancelled()) {
                work.cancel(true);
            }
        });
        return result;
    }

    /**
     * A handler's result, from any thread. On the loop during a read it is written at once (the
     * read's end flushes); otherwise it is queued and one task per batch writes the queue and
     * flushes once.
     */
    private void complete(ServerCall call, byte[] value, Throwable error) {
        if (loop.inEventLoop() && reading) {
            finish(call, value, error);
            return;
        }
        completions.add(new Completion(call, value, error));
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this::drainCompletions);
            } catch (RejectedExecutionException e) {
                // the server is closing: the connection is closed with its loop
            }
        }
    }

    private void drainCompletions() {
        drainScheduled.set(false);
        for (Completion c; (c = completions.poll()) != null; ) {
            finish(c.call, c.value, c.error);
        }
        flushIfPending();
    }

    /** The request's deadline passed with its handler still running: answer DEADLINE_EXCEEDED, cancel the handler. */
    private void deadlinePassed(ServerCall call) {
        call.deadlineTimer = null;
        if (inFlight.get(call.request.requestId()) != call) {
            return;
        }
        server.deadlineExceeded();
        finish(call, null, new HandlerException(ErrorCode.DEADLINE_EXCEEDED, "the request's deadline ("
                + call.request.deadlineOrNull().limit().toMillis() + " ms) passed before its handler answered"));
        call.request.markCancelled();
        Future<?> work = call.work;
        if (work != null) {
            work.cancel(true);
        }
        flushIfPending();
    }

    /** Answers the call unless a CANCEL or close claimed it first. Loop only. */
    private void finish(ServerCall call, byte[] value, Throwable error) {
        long id = call.request.requestId();
        if (!inFlight.remove(id, call)) {
            return;
        }
        call.cancelDeadlineTimer();
        inFlightCount--;
        int code;
        String message = null;
        byte[] body = null;
        if (error == null) {
            body = value == null ? new byte[0] : value;
            code = 0;
            if (body.length > peerMaxFrameSize) {
                code = ErrorCode.RESPONSE_TOO_LARGE;
                message = "reply of " + body.length + " bytes exceeds the client's maxFrameSize of " + peerMaxFrameSize;
            }
        } else {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof HandlerException he) {
                code = he.code();
                message = String.valueOf(he.getMessage());
            } else if (cause instanceof CancellationException) {
                code = ErrorCode.INTERNAL;
                message = "handler cancelled the request";
            } else {
                String op = call.request.op();
                server.connectionFailures().failure(Level.ERROR, "handler for op '" + op + "'",
                        () -> "handler for op '" + op + "' threw " + cause + "; answered INTERNAL", cause);
                code = ErrorCode.INTERNAL;
                message = "handler for op '" + call.request.op() + "' failed: " + cause.getClass().getSimpleName();
            }
        }
        long now = System.nanoTime();
        ChannelFuture written = send(code == 0 ? new Frame(FrameType.RESPONSE, id, body) : errorFrame(id, code, message));
        int bytes = call.requestBytes;
        String metricOp = call.metricOp;
        long startNanos = call.startNanos;
        int outcome = code;
        if (written == null) {
            server.releaseRequestBytes(bytes);
            server.listener().requestCompleted(metricOp, outcome, now - startNanos);
        } else {
            // the request's bytes stay counted, and its time runs, until its reply has left (or the
            // connection closed): the listener hears of it after the client may already have the reply
            written.addListener(f -> {
                server.releaseRequestBytes(bytes);
                server.listener().requestCompleted(metricOp, outcome, System.nanoTime() - startNanos);
            });
        }
        if (--unanswered == 0) {
            lastBusyNanos = now; // the idle timeout counts from here, not from the request's bytes
        }
        maybeFinishDrain();
    }

    private void onCancel(long id) {
        ServerCall call = inFlight.remove(id);
        if (call == null) {
            return; // already answered, or never seen: CANCEL races are normal
        }
        call.cancelDeadlineTimer();
        inFlightCount--;
        unanswered--;
        server.releaseRequestBytes(call.requestBytes);
        server.cancelled();
        server.listener().requestCancelled(call.metricOp);
        call.request.markCancelled();
        Future<?> work = call.work;
        if (work != null) {
            work.cancel(true);
        }
        maybeFinishDrain();
    }

    // ---------------------------------------------------------------- writing

    /** Writes a frame without flushing (the read's end or the batch's task flushes). Loop only. */
    private ChannelFuture send(Frame frame) {
        if (phase == Phase.CLOSED || outputDone || !channel.isActive()) {
            return null;
        }
        ChannelFuture f = ctx.write(encode(ctx.alloc(), frame, checksum ? crc : null));
        if (!flushPending) {
            flushPending = true;
            if (!reading) {
                loop.execute(this::flushIfPending);
            }
        }
        server.observeQueued(queuedBytes());
        return f;
    }

    private void flushIfPending() {
        if (flushPending) {
            flushPending = false;
            server.flushed();
            ctx.flush();
        }
    }

    private void sendError(long id, int code, String message) {
        send(errorFrame(id, code, message));
    }

    static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
        return encode(alloc, frame, null);
    }

    /** The frame in a new buffer, followed by its CRC32C trailer when {@code crc} is not null. */
    static ByteBuf encode(ByteBufAllocator alloc, Frame frame, java.util.zip.CRC32C crc) {
        byte[] payload = frame.payload();
        ByteBuf buf = alloc.ioBuffer(Protocol.HEADER_LENGTH + payload.length + (crc == null ? 0 : Protocol.CHECKSUM_LENGTH));
        buf.writeShort(Protocol.MAGIC);
        buf.writeByte(Protocol.VERSION);
        buf.writeByte(frame.type().code());
        buf.writeLong(frame.requestId());
        buf.writeInt(payload.length);
        buf.writeBytes(payload);
        if (crc != null) {
            dev.tidewire.transport.internal.Frames.writeChecksum(buf, 0, crc);
        }
        return buf;
    }

    /**
     * An ERROR frame whose payload never exceeds the smallest maxFrameSize a client may declare
     * (4 KiB): the message is cut to 1000 characters, and further if escaping makes it longer.
     */
    static Frame errorFrame(long id, int code, String message) {
        String text = String.valueOf(message);
        for (int limit = MAX_ERROR_MESSAGE; ; limit /= 2) {
            byte[] payload = new ErrorPayload(code, cut(text, limit)).encode();
            if (payload.length <= Protocol.MIN_MAX_FRAME_SIZE || limit == 0) {
                return new Frame(FrameType.ERROR, id, payload);
            }
        }
    }

    private static String cut(String text, int limit) {
        if (text.length() <= limit) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(limit - 1)) ? limit - 1 : limit;
        return text.substring(0, Math.max(0, end)) + "...";
    }

    /**
     * A connection-level ERROR (id 0), then FIN once it is written; what the client still sends is
     * read and dropped until it closes or the linger time passes, so the close does not reset the
     * connection and destroy the ERROR before the client has read it. Requests in flight are
     * cancelled now, not at the close: none will be answered, and their work (a handler thread, a
     * {@code sleep} timer) must not run on into the linger.
     */
    private void failConnection(int code, String message) {
        discarding = true;
        dropInFlight();
        send(errorFrame(0, code, message));
        halfCloseAfterWrites();
        lingerThenClose();
    }

    /** FIN after everything queued so far has been written (TLS: close_notify first). Loop only. */
    private void halfCloseAfterWrites() {
        if (phase == Phase.CLOSED || outputDone) {
            return;
        }
        // nothing may follow: a frame queued behind the FIN could be cut in half by it
        outputDone = true;
        flushPending = false;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                closeNow();
            } else if (ssl != null) {
                ssl.closeOutbound().addListener(g -> shutdownOutput());
            } else {
                shutdownOutput();
            }
        });
    }

    private void shutdownOutput() {
        if (channel instanceof DuplexChannel d && channel.isActive()) {
            d.shutdownOutput().addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    closeNow();
                }
            });
        }
    }

    private void lingerThenClose() {
        loop.schedule(this::closeNow, LINGER_MILLIS, TimeUnit.MILLISECONDS);
    }

    // ---------------------------------------------------------------- timers

    private void helloTimedOut() {
        helloTimer = null;
        if (phase != Phase.AWAIT_HELLO || closedByServer || tlsFailed) {
            return; // after a failed handshake the lingering close ends the connection
        }
        if (!handshakeDone && !tlsFailureCounted) {
            tlsFailureCounted = true;
            server.tlsHandshakeFailed();
            LOG.log(Level.DEBUG, () -> "TLS handshake with " + remoteAddress + " did not finish in time; closing");
        } else {
            LOG.log(Level.DEBUG, () -> "no HELLO from " + remoteAddress + " in time; closing");
        }
        closeNow();
    }

    /**
     * The idle timeout (OPEN, nothing unanswered, nothing read for idleTimeout; not while the
     * client's replies are backed up, which writeStallTimeout covers; the time counts from the last
     * read or from when the connection was last busy, whichever is later, so a call longer than the
     * timeout is not followed by a close right after its reply) and the frame timeout (a frame that
     * has started must be complete within frameTimeout). Reschedules itself for the nearest
     * deadline. Loop only.
     */
    private void check() {
        checkTimer = null;
        if (phase != Phase.OPEN || discarding || drainFinished) {
            return;
        }
        long now = System.nanoTime();
        long idle = server.idleTimeout().toNanos();
        if (idle > 0 && unanswered == 0 && channel.isWritable() && now - idleSince() >= idle) {
            LOG.log(Level.DEBUG, () -> "connection from " + remoteAddress + " idle; closing");
            closeNow();
            return;
        }
        if (frameStartNanos != 0 && channel.config().isAutoRead()
                && now - frameStartNanos >= server.frameTimeout().toNanos()) {
            LOG.log(Level.DEBUG, () -> "connection from " + remoteAddress + " did not finish a frame in "
                    + server.frameTimeout() + "; closing");
            closeNow();
            return;
        }
        scheduleCheck(now);
    }

    /** When the connection went quiet: its last read, or the end of its last busy spell if later. */
    private long idleSince() {
        return lastBusyNanos - lastReadNanos > 0 ? lastBusyNanos : lastReadNanos;
    }

    private void scheduleCheck(long now) {
        long next = now + server.frameTimeout().toNanos();
        if (frameStartNanos != 0) {
            next = Math.min(next, frameStartNanos + server.frameTimeout().toNanos());
        }
        long idle = server.idleTimeout().toNanos();
        if (idle > 0) {
            if (unanswered == 0 && channel.isWritable()) {
                next = Math.min(next, idleSince() + idle);
            } else {
                // busy: look again soon, then wait for the timeout counted from the end of the busy spell
                next = Math.min(next, now + Math.min(idle, server.checkInterval().toNanos()));
            }
        }
        checkTimer = loop.schedule(this::check, Math.max(1_000_000, next - now), TimeUnit.NANOSECONDS);
    }

    // ---------------------------------------------------------------- lifecycle

    /** Sends GOAWAY naming the last request id this connection will answer. Idempotent; any thread. */
    void goAway(String reason) {
        execute(() -> {
            if (phase == Phase.CLOSED) {
                return;
            }
            if (phase != Phase.OPEN) {
                closeNow(); // no HELLO yet: a GOAWAY must not come before the server's HELLO
                return;
            }
            if (draining || discarding) {
                return;
            }
            draining = true;
            // on the loop: no request accepted after this point has an id <= lastRequestId
            send(new Frame(FrameType.GOAWAY, lastRequestId, new GoAwayPayload(reason).encode()));
            maybeFinishDrain();
            flushIfPending();
        });
    }

    /**
     * Once every request up to the GOAWAY's id is answered: FIN after the last reply, then, as after
     * a fatal error, read and drop what the client still sends (a PING cannot be answered after the
     * FIN, a late REQUEST is not processed) until it closes or the linger time passes.
     */
    private void maybeFinishDrain() {
        if (draining && unanswered == 0 && !drainFinished && phase == Phase.OPEN) {
            drainFinished = true;
            discarding = true;
            // after the last reply is on the wire: half-close and let the client close first
            halfCloseAfterWrites();
            lingerThenClose();
        }
    }

    /** Closes at once; requests in flight are dropped (their handlers are cancelled). Any thread. */
    void close() {
        if (closeRequested.compareAndSet(false, true)) {
            execute(this::closeNow);
        }
    }

    private void execute(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            channel.close(); // the loop is shutting down and closes its channels itself
        }
    }

    /** Closes the socket at once, without a TLS close_notify. Loop only. */
    private void closeNow() {
        if (phase == Phase.CLOSED && !channel.isOpen()) {
            return;
        }
        closedByServer = true;
        edge.closeNow();
        closed();
    }

    /** Releases everything the connection holds; idempotent. Loop only. */
    private void closed() {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        for (ScheduledFuture<?> t : new ScheduledFuture<?>[] {helloTimer, checkTimer, stallTimer}) {
            if (t != null) {
                t.cancel(false);
            }
        }
        helloTimer = checkTimer = stallTimer = null;
        dropInFlight();
        if (held != null) {
            held.release();
            held = null;
        }
        server.connectionClosed(this);
    }

    /** Cancels every request in flight; none of them will be answered. Loop only. */
    private void dropInFlight() {
        List<ServerCall> calls = new ArrayList<>(inFlight.values());
        inFlight.clear();
        for (ServerCall call : calls) {
            call.cancelDeadlineTimer();
            server.releaseRequestBytes(call.requestBytes);
            call.request.markCancelled();
            Future<?> work = call.work;
            if (work != null) {
                work.cancel(true);
            }
        }
        completions.clear();
        inFlightCount = 0;
        unanswered = 0;
    }

    /** A request being handled; {@code work} is set once the handler has started. */
    private static final class ServerCall {
        final ServerRequest request;
        final String metricOp;
        final int requestBytes;
        final long startNanos = System.nanoTime();
        volatile Future<?> work;
        ScheduledFuture<?> deadlineTimer; // loop only; set while the handler runs past its dispatch

        ServerCall(ServerRequest request, String metricOp, int requestBytes) {
            this.request = request;
            this.metricOp = metricOp;
            this.requestBytes = requestBytes;
        }

        void cancelDeadlineTimer() {
            if (deadlineTimer != null) {
                deadlineTimer.cancel(false);
                deadlineTimer = null;
            }
        }
    }

    private record Completion(ServerCall call, byte[] value, Throwable error) {
    }
}
