package dev.tidewire.server;

import dev.tidewire.ProtocolException;
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
import dev.tidewire.transport.internal.FrameOutbound;
import dev.tidewire.transport.internal.FrameWriter;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;

/**
 * One accepted connection of a {@link TidewireServer}.
 *
 * <p>The reader thread decodes frames, runs {@link Handler}s inline and hands
 * {@link BlockingHandler}s to the server's pool. Replies are written through a combining
 * {@link FrameWriter} by whichever thread completes the handler, so they go out in completion
 * order. A request is answered once: {@code inFlight.remove(id, call)} is the claim, taken by the
 * reply, a CANCEL, or the connection closing.
 *
 * <p>GOAWAY: {@code lock} orders "accept request id" against "choose the last id", so every
 * request with an id up to the GOAWAY's id is answered and every later one is refused with
 * NOT_PROCESSED. Once drained, the server writes its last bytes, half-closes, and closes when the
 * client does (or after a linger timeout), so no reply is lost to a reset.
 */
final class ServerConnection {
    private static final System.Logger LOG = System.getLogger(ServerConnection.class.getName());
    private static final long LINGER_MILLIS = 2000;
    private static final int MAX_ERROR_MESSAGE = 1000;

    private enum Phase { AWAIT_HELLO, OPEN, CLOSED }

    private final TidewireServer server;
    private final Socket socket;     // what frames are read from and written to (TLS or plain)
    private final Socket transport;  // the TCP socket (the same as socket without TLS)
    private final FrameWriter writer;
    private final FrameDecoder decoder;
    private final Thread reader;
    private final long acceptedNanos = System.nanoTime();
    private final Map<Long, ServerCall> inFlight = new ConcurrentHashMap<>();
    // Requests counted against the in-flight limit: dropped before the reply is sent, so a client
    // that sends its next request on receiving a reply never finds the slot still taken.
    private final AtomicInteger inFlightCount = new AtomicInteger();
    // Requests not yet answered: dropped after the reply is queued, so draining closes only after it.
    private final AtomicInteger unanswered = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean drainFinished = new AtomicBoolean();
    private final Object lock = new Object();

    private volatile Phase phase = Phase.AWAIT_HELLO;
    private volatile long lastReadNanos = System.nanoTime();
    private volatile int peerMaxFrameSize = Protocol.MIN_MAX_FRAME_SIZE;
    private long lastRequestId;          // guarded by lock
    private boolean draining;            // guarded by lock
    private long goAwayLastId;           // guarded by lock

    ServerConnection(TidewireServer server, Socket transport, Socket socket, int number) throws IOException {
        this.server = server;
        this.transport = transport;
        this.socket = socket;
        this.writer = new FrameWriter(socket.getOutputStream(), server.writeBufferSize(), e -> close());
        this.decoder = new FrameDecoder(Math.min(server.maxFrameSize(), Protocol.HANDSHAKE_MAX_FRAME_SIZE));
        this.reader = new Thread(this::readLoop, "tidewire-server-conn-" + number);
        this.reader.setDaemon(true);
    }

    void start() {
        reader.start();
    }

    Thread thread() {
        return reader;
    }

    boolean isClosed() {
        return closed.get();
    }

    // ---------------------------------------------------------------- reading

    private void readLoop() {
        byte[] buf = new byte[64 * 1024];
        ByteBuffer view = ByteBuffer.wrap(buf);
        InputStream in;
        try {
            in = socket.getInputStream();
        } catch (IOException e) {
            close();
            return;
        }
        if (socket instanceof SSLSocket tls && !handshake(tls)) {
            lingerThenClose();
            return;
        }
        try {
            for (;;) {
                int n = in.read(buf);
                if (n < 0) {
                    return;
                }
                lastReadNanos = System.nanoTime();
                view.clear().limit(n);
                try {
                    decoder.decode(view, this::onFrame);
                } finally {
                    writer.flush();
                }
            }
        } catch (Unauthenticated e) {
            server.authenticationFailed();
            LOG.log(Level.DEBUG, () -> "closing " + socket.getRemoteSocketAddress() + ": authentication failed");
            send(errorFrame(0, ErrorCode.UNAUTHENTICATED, "authentication failed"));
            writer.writeThen(this::shutdownOutput);
            discardInputUntilClosed(in);
        } catch (ProtocolException e) {
            server.protocolError();
            int code = e instanceof FrameTooLargeException ? ErrorCode.FRAME_TOO_LARGE
                    : e instanceof UnsupportedVersionException ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.PROTOCOL_ERROR;
            LOG.log(Level.DEBUG, () -> "closing " + socket.getRemoteSocketAddress() + ": " + e.getMessage());
            send(errorFrame(0, code, e.getMessage()));
            writer.writeThen(this::shutdownOutput);
            discardInputUntilClosed(in);
        } catch (IOException e) {
            // peer went away or we closed the socket
        } catch (RuntimeException e) {
            server.internalError();
            LOG.log(Level.ERROR, "server connection reader crashed", e);
        } finally {
            close();
        }
    }

    /**
     * Runs the TLS handshake on this connection's thread, bounded by the HELLO timeout (the timer's
     * HELLO deadline, counted from accept, bounds it too). A failure is logged without detail
     * beyond the JSSE message and counted.
     */
    private boolean handshake(SSLSocket tls) {
        try {
            tls.setSoTimeout((int) Math.max(1, server.helloTimeout().toMillis()));
            tls.startHandshake();
            tls.setSoTimeout(0);
            return true;
        } catch (IOException e) {
            if (!closed.get()) {
                server.tlsHandshakeFailed();
                LOG.log(Level.DEBUG, () -> "TLS handshake with " + socket.getRemoteSocketAddress() + " failed: "
                        + e.getMessage());
            }
            return false;
        }
    }

    /**
     * After a failed TLS handshake (JSSE has sent its alert): FIN, then read and drop what the
     * client still sends (its last handshake records, its HELLO) until it closes or a short time
     * passes, so the close does not reset the connection and destroy the alert before the client
     * has read it.
     */
    private void lingerThenClose() {
        try {
            transport.shutdownOutput();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
            InputStream raw = transport.getInputStream();
            byte[] buf = new byte[8192];
            for (long left; (left = deadline - System.nanoTime()) > 0 && !closed.get(); ) {
                transport.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                if (raw.read(buf) < 0) {
                    break;
                }
            }
        } catch (IOException e) {
            // timed out, reset or closed: close now
        } finally {
            close();
        }
    }

    /**
     * Lingering close: after the last frame and a FIN, read and drop whatever the client still
     * sends until it closes (or a short timeout), so closing does not reset the connection and
     * destroy the ERROR frame before the client has read it.
     */
    private void discardInputUntilClosed(InputStream in) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
        byte[] buf = new byte[8192];
        try {
            for (long left; (left = deadline - System.nanoTime()) > 0; ) {
                socket.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                if (in.read(buf) < 0) {
                    return;
                }
            }
        } catch (IOException e) {
            // timed out or reset: close now
        }
    }

    private void shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            close();
        }
    }

    private void onFrame(Frame frame) {
        switch (frame.type()) {
            case HELLO -> onHello(frame);
            case REQUEST -> onRequest(frame);
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
        if (!authenticated(hello)) {
            throw new Unauthenticated();
        }
        peerMaxFrameSize = hello.maxFrameSize();
        decoder.maxFrameSize(server.maxFrameSize());
        Hello reply = new Hello(Protocol.VERSION, server.maxFrameSize(), server.maxInFlightPerConnection(),
                "tidewire-server/0.1", Map.of());
        // queued before the phase turns OPEN, so a concurrent GOAWAY can only follow it
        send(new Frame(FrameType.HELLO, 0, reply.encode()));
        phase = Phase.OPEN;
    }

    private boolean authenticated(Hello hello) {
        try {
            return server.authenticator().authenticate(hello.credentials(), socket.getRemoteSocketAddress());
        } catch (RuntimeException e) {
            // the exception's text might quote the credentials: log only its type
            LOG.log(Level.WARNING, "authenticator threw " + e.getClass().getName() + "; refusing the client");
            return false;
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
        boolean refuse;
        synchronized (lock) {
            if (id <= lastRequestId) {
                throw new ProtocolException("request id " + id + " does not exceed the previous id " + lastRequestId
                        + " (ids must rise strictly)");
            }
            lastRequestId = id;
            refuse = draining;
        }
        server.requestReceived();
        if (refuse) {
            server.refusedNotProcessed();
            sendError(id, ErrorCode.NOT_PROCESSED, "server is shutting down (GOAWAY sent); request not processed");
            return;
        }
        int now = inFlightCount.incrementAndGet();
        if (now > server.maxInFlightPerConnection()) {
            inFlightCount.decrementAndGet();
            server.rejectedOverloaded();
            sendError(id, ErrorCode.OVERLOADED, "more than " + server.maxInFlightPerConnection()
                    + " requests in flight on this connection");
            return;
        }
        server.observeInFlight(now);
        RequestPayload payload;
        try {
            payload = RequestPayload.decode(frame.payload());
        } catch (ProtocolException e) {
            inFlightCount.decrementAndGet();
            sendError(id, ErrorCode.BAD_REQUEST, e.getMessage());
            return;
        }
        unanswered.incrementAndGet();
        ServerRequest request = new ServerRequest(payload.op(), id, payload.body(), socket.getRemoteSocketAddress(),
                server.mapper());
        TidewireServer.Route route = server.route(payload.op());
        ServerCall call = new ServerCall(request, route == null ? "unknown" : payload.op());
        inFlight.put(id, call);
        if (route == null) {
            finish(call, null, new HandlerException(ErrorCode.UNKNOWN_OP, "no handler for op '" + payload.op() + "'"));
        } else if (route.handler() != null) {
            runInline(call, route.handler());
        } else {
            runBlocking(call, route.blockingHandler());
        }
    }

    private void runInline(ServerCall call, Handler handler) {
        CompletionStage<byte[]> stage;
        try {
            stage = handler.handle(call.request);
        } catch (Throwable e) {
            finish(call, null, e);
            return;
        }
        if (stage == null) {
            finish(call, null, new NullPointerException("handler returned no stage"));
            return;
        }
        call.work = stage.toCompletableFuture();
        stage.whenComplete((value, error) -> finish(call, value, error));
    }

    private void runBlocking(ServerCall call, BlockingHandler handler) {
        try {
            call.work = server.handlerPool().submit(() -> {
                try {
                    finish(call, handler.handle(call.request), null);
                } catch (Throwable e) {
                    finish(call, null, e);
                }
            });
        } catch (RejectedExecutionException e) {
            if (inFlight.remove(call.request.requestId(), call)) {
                inFlightCount.decrementAndGet();
                server.rejectedOverloaded();
                sendError(call.request.requestId(), ErrorCode.OVERLOADED, "handler queue is full");
                unanswered.decrementAndGet();
                maybeFinishDrain();
            }
        }
    }

    /** Answers the call unless a CANCEL or close claimed it first. Any thread. */
    private void finish(ServerCall call, byte[] value, Throwable error) {
        long id = call.request.requestId();
        if (!inFlight.remove(id, call)) {
            return;
        }
        inFlightCount.decrementAndGet();
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
                LOG.log(Level.DEBUG, () -> "handler for op '" + call.request.op() + "' failed", cause);
                code = ErrorCode.INTERNAL;
                message = "handler for op '" + call.request.op() + "' failed: " + cause.getClass().getSimpleName();
            }
        }
        // recorded before the reply goes out, so a client that has its reply also finds it counted
        server.listener().requestCompleted(call.metricOp, code, System.nanoTime() - call.startNanos);
        send(code == 0 ? new Frame(FrameType.RESPONSE, id, body) : errorFrame(id, code, message));
        unanswered.decrementAndGet();
        maybeFinishDrain();
    }

    private void onCancel(long id) {
        ServerCall call = inFlight.get(id);
        if (call == null || !inFlight.remove(id, call)) {
            return; // already answered, or never seen: CANCEL races are normal
        }
        inFlightCount.decrementAndGet();
        unanswered.decrementAndGet();
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

    /**
     * Replies made on the reader thread (inline handlers, PONGs, refusals) are only queued: the
     * reader flushes once after each read, so all the replies to one read share one socket write.
     * Replies from other threads (blocking handlers, timers) are written at once.
     */
    private void send(Frame frame) {
        if (Thread.currentThread() == reader) {
            writer.enqueue(new FrameOutbound(frame));
        } else {
            writer.write(new FrameOutbound(frame));
        }
    }

    private void sendError(long id, int code, String message) {
        send(errorFrame(id, code, message));
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

    // ---------------------------------------------------------------- lifecycle

    /** Sends GOAWAY naming the last request id this connection will answer. Idempotent. */
    void goAway(String reason) {
        if (phase != Phase.OPEN) {
            close(); // no HELLO yet: a GOAWAY must not come before the server's HELLO
            return;
        }
        synchronized (lock) {
            if (draining || closed.get()) {
                return;
            }
            draining = true;
            goAwayLastId = lastRequestId;
            // Enqueued under the lock: no request accepted after this point has an id <= goAwayLastId.
            send(new Frame(FrameType.GOAWAY, goAwayLastId, new GoAwayPayload(reason).encode()));
        }
        maybeFinishDrain();
    }

    private void maybeFinishDrain() {
        boolean done;
        synchronized (lock) {
            done = draining && unanswered.get() == 0;
        }
        if (done && drainFinished.compareAndSet(false, true)) {
            // After the last reply is on the wire: half-close and let the client close first.
            writer.writeThen(this::shutdownOutput);
            server.timer().schedule(this::close, LINGER_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** Checks the HELLO deadline and the idle timeout. Timer thread. */
    void tick(long now) {
        if (closed.get()) {
            return;
        }
        if (phase == Phase.AWAIT_HELLO && now - acceptedNanos > server.helloTimeout().toNanos()) {
            LOG.log(Level.DEBUG, () -> "no HELLO from " + socket.getRemoteSocketAddress() + " in time; closing");
            close();
        } else if (phase == Phase.OPEN && !server.idleTimeout().isZero() && unanswered.get() == 0
                && now - lastReadNanos > server.idleTimeout().toNanos()) {
            LOG.log(Level.DEBUG, () -> "connection from " + socket.getRemoteSocketAddress() + " idle; closing");
            close();
        }
    }

    /** Closes at once; requests still in flight are dropped (their handlers are cancelled). */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        phase = Phase.CLOSED;
        try {
            socket.close();
        } catch (IOException ignored) {
            // best effort
        }
        if (transport != socket) {
            try {
                transport.close(); // a TLS socket layered without autoClose leaves it open
            } catch (IOException ignored) {
                // best effort
            }
        }
        writer.fail();
        for (ServerCall call : inFlight.values()) {
            if (inFlight.remove(call.request.requestId(), call)) {
                call.request.markCancelled();
                Future<?> work = call.work;
                if (work != null) {
                    work.cancel(true);
                }
            }
        }
        server.connectionClosed(this);
    }

    /** A request being handled; {@code work} is set once the handler has started. */
    private static final class ServerCall {
        final ServerRequest request;
        final String metricOp;
        final long startNanos = System.nanoTime();
        volatile Future<?> work;

        ServerCall(ServerRequest request, String metricOp) {
            this.request = request;
            this.metricOp = metricOp;
        }
    }
}
