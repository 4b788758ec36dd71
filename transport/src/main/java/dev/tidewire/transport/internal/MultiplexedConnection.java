package dev.tidewire.transport.internal;

import dev.tidewire.AuthenticationException;
import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.ProtocolException;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.RequestTooLargeException;
import dev.tidewire.TidewireException;
import dev.tidewire.TlsException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.GoAwayPayload;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.ConnectionStats;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * The {@link Connection} implementation: a blocking socket, one reader thread, a combining
 * {@link FrameWriter} and a map of calls in flight keyed by request id.
 *
 * <p>Threads and what they own:
 * <ul>
 *   <li><b>callers</b> create {@link PendingCall}s, take an in-flight slot (or queue in
 *       {@code waiters}) and hand the call to the writer;</li>
 *   <li><b>the writer</b> (whichever thread holds the {@link FrameWriter}) assigns request ids in
 *       write order, so ids rise strictly on the wire, and registers each call in {@code pending}
 *       before its bytes go out, so a reply always finds it;</li>
 *   <li><b>the reader thread</b> decodes frames and claims calls by id; it completes user futures
 *       only through the call's executor, never running user code itself;</li>
 *   <li><b>the timer thread</b> ({@link #tick}) expires deadlines in all three places a live call can
 *       be (waiters, writer queue, pending) and runs the heartbeat.</li>
 * </ul>
 * A call is claimed once ({@link PendingCall#finish()}); claiming removes it from {@code pending}
 * and returns its slot. {@link #failConnection} sets CLOSED before sweeping, and every path that
 * adds a call re-checks CLOSED after adding, so no call is stranded by a concurrent failure.
 */
public final class MultiplexedConnection implements Connection {
    private static final System.Logger LOG = System.getLogger(MultiplexedConnection.class.getName());
    private static final String AGENT = "tidewire-java/0.1";
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final long DEADLINE_SLOT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final int number = IDS.incrementAndGet();
    private final InetSocketAddress address;
    private final ConnectionOptions options;
    private final TransportResources resources;
    private final boolean ownsResources;
    private final Socket socket;
    private final InputStream in;
    private final FrameWriter writer;
    private final FrameDecoder decoder;
    private final List<Frame> earlyFrames;
    private final int peerMaxFrameSize;
    private final int maxInFlight;
    private final Executor defaultCompletion;
    private final Heartbeat heartbeat;

    private final ConcurrentHashMap<Long, PendingCall> pending = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<PendingCall> waiters = new ConcurrentLinkedQueue<>();
    // Deadlines of waiting calls, in 10 ms slots, so the timer looks at each waiter once, when its
    // slot has passed, instead of scanning a queue that grows without bound when callers outpace
    // the server (measured: scanning it every tick starved the I/O threads under overload).
    private final ConcurrentSkipListMap<Long, ConcurrentLinkedQueue<PendingCall>> waiterDeadlines =
            new ConcurrentSkipListMap<>();
    private final AtomicInteger freeSlots;
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private final Thread reader;
    private final AutoCloseable tickRegistration;

    private long nextId;                          // writer thread only
    private volatile long lastIssuedId;           // written by the writer, read by the reader
    private volatile long lastReadNanos;          // written by the reader
    private volatile long framesRead;             // reader only writes
    private volatile long lateResponses;          // reader only writes
    private volatile boolean goAwayReceived;
    private volatile long goAwayLastId = Long.MAX_VALUE;
    private volatile RuntimeException closeReason;
    private long pingNonce;                       // timer thread only

    private MultiplexedConnection(InetSocketAddress address, ConnectionOptions options, TransportResources resources,
            boolean ownsResources, Socket socket, InputStream in, OutputStream out, FrameDecoder decoder,
            List<Frame> earlyFrames, Hello serverHello) {
        this.address = address;
        this.options = options;
        this.resources = resources;
        this.ownsResources = ownsResources;
        this.socket = socket;
        this.in = in;
        this.decoder = decoder;
        this.earlyFrames = earlyFrames;
        this.peerMaxFrameSize = serverHello.maxFrameSize();
        this.maxInFlight = serverHello.maxInFlight() > 0
                ? Math.min(serverHello.maxInFlight(), options.maxInFlight()) : options.maxInFlight();
        this.freeSlots = new AtomicInteger(maxInFlight);
        this.defaultCompletion = options.callbackExecutor() != null ? options.callbackExecutor()
                : resources.callbackExecutor();
        this.heartbeat = new Heartbeat(options.heartbeatInterval().toNanos(), options.heartbeatTimeout().toNanos());
        this.writer = new FrameWriter(out, options.writeBufferSize(), e -> failConnection(
                new ConnectionLostException("write to " + address + " failed: " + e.getMessage(), e)));
        this.lastReadNanos = System.nanoTime();
        this.reader = new Thread(this::readLoop, "tidewire-reader-" + number + "-" + address);
        this.reader.setDaemon(true);
        this.tickRegistration = resources.onTick(this::tick);
    }

    /**
     * Connects, tunes the socket, runs the TLS handshake when {@link ConnectionOptions#tls()} is set
     * (with host name verification) and exchanges HELLO, all within the connect timeout.
     *
     * @throws ConnectFailedException  if the connection cannot be made in time (retryable)
     * @throws AuthenticationException if the server refuses the credentials (ERROR code 4)
     * @throws TlsException            if the TLS handshake fails (untrusted or expired certificate,
     *                                 host name mismatch, client certificate required but missing)
     */
    public static MultiplexedConnection open(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources, boolean ownsResources) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(resources, "resources");
        if (address.isUnresolved()) {
            throw new ConnectFailedException("cannot resolve host " + address.getHostString(), null);
        }
        Deadline deadline = Deadline.after(options.connectTimeout());
        Socket socket = new Socket();
        try {
            SocketTuning.apply(socket, options.keepAliveIdle(), options.keepAliveInterval(), options.keepAliveCount());
            socket.connect(address, millisLeft(deadline));
            socket.setSoTimeout(millisLeft(deadline));
            if (options.tls() != null) {
                socket = startTls(socket, address, options);
            }
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            Hello hello = new Hello(Protocol.VERSION, options.maxFrameSize(), 0, AGENT, options.credentials());
            out.write(FrameEncoder.encode(new Frame(FrameType.HELLO, 0, hello.encode())));
            FrameDecoder decoder = new FrameDecoder(Math.min(options.maxFrameSize(), Protocol.HANDSHAKE_MAX_FRAME_SIZE));
            List<Frame> frames = new ArrayList<>();
            Hello serverHello = awaitHello(address, socket, in, decoder, frames, deadline);
            socket.setSoTimeout(0);
            decoder.maxFrameSize(options.maxFrameSize());
            MultiplexedConnection c = new MultiplexedConnection(address, options, resources, ownsResources, socket,
                    in, out, decoder, frames, serverHello);
            c.reader.start();
            return c;
        } catch (SocketTimeoutException e) {
            closeQuietly(socket);
            throw new ConnectFailedException("connecting to " + address + " timed out after "
                    + options.connectTimeout().toMillis() + " ms (connect and HELLO)", e);
        } catch (SSLException e) {
            closeQuietly(socket);
            if (e.getCause() instanceof java.io.EOFException || e.getCause() instanceof java.net.SocketException) {
                // the server closed or reset the connection mid-handshake (e.g. at its connection
                // limit): not a certificate problem, so as retryable as any failed connect
                throw new ConnectFailedException("server " + address + " closed the connection during the TLS"
                        + " handshake: " + e.getMessage(), e);
            }
            throw new TlsException("TLS handshake with " + address + " failed: " + e.getMessage(), e);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new ConnectFailedException("cannot connect to " + address + ": " + e.getMessage(), e);
        } catch (ProtocolException e) {
            closeQuietly(socket);
            throw new ConnectFailedException("handshake with " + address + " failed: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            closeQuietly(socket);
            throw e;
        }
    }

    /**
     * Layers TLS over the connected socket and completes the handshake; the socket's read timeout
     * (the time left of the connect deadline) bounds it. The server's certificate must match the
     * host name or IP address connected to.
     */
    private static Socket startTls(Socket plain, InetSocketAddress address, ConnectionOptions options)
            throws IOException {
        SSLSocket tls = (SSLSocket) options.tls().sslContext().getSocketFactory()
                .createSocket(plain, address.getHostString(), address.getPort(), true);
        try {
            SSLParameters params = tls.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            tls.setSSLParameters(params);
            tls.startHandshake();
            return tls;
        } catch (IOException | RuntimeException e) {
            closeQuietly(tls);
            throw e;
        }
    }

    private static Hello awaitHello(InetSocketAddress address, Socket socket, InputStream in, FrameDecoder decoder,
            List<Frame> frames, Deadline deadline) throws IOException {
        byte[] buf = new byte[8192];
        for (;;) {
            socket.setSoTimeout(millisLeft(deadline)); // a server trickling bytes cannot stretch the connect timeout
            int n = in.read(buf);
            if (n < 0) {
                decoder.endOfStream();
                throw new ConnectFailedException("server " + address + " closed the connection during the handshake", null);
            }
            decoder.decode(ByteBuffer.wrap(buf, 0, n), frames::add);
            while (!frames.isEmpty()) {
                Frame f = frames.remove(0);
                if (f.type() == FrameType.HELLO) {
                    Hello hello = Hello.decode(f.payload());
                    if (hello.version() != Protocol.VERSION) {
                        throw new ProtocolException("server answered HELLO with version " + hello.version());
                    }
                    return hello;
                }
                if (f.type() == FrameType.ERROR) {
                    ErrorPayload err = ErrorPayload.decode(f.payload());
                    if (err.code() == ErrorCode.UNAUTHENTICATED) {
                        throw new AuthenticationException("server " + address + " refused the credentials: "
                                + ErrorCode.describe(err.code()) + ": " + err.message(), null);
                    }
                    throw new ConnectFailedException("server " + address + " refused the connection: "
                            + ErrorCode.describe(err.code()) + ": " + err.message(), null);
                }
                throw new ProtocolException("expected HELLO from the server, got " + f.type());
            }
            if (deadline.isExpired(System.nanoTime())) {
                throw new SocketTimeoutException("no HELLO from the server");
            }
        }
    }

    // ---------------------------------------------------------------- calls

    @Override
    public CompletableFuture<byte[]> call(String op, byte[] body, Duration timeout) {
        return call(op, body, Deadline.after(timeout), defaultCompletion);
    }

    @Override
    public CompletableFuture<byte[]> call(String op, byte[] body, Deadline deadline, Executor completion) {
        return submit(op, body, deadline, completion, true);
    }

    @Override
    public CompletableFuture<byte[]> enqueue(String op, byte[] body, Deadline deadline, Executor completion) {
        return submit(op, body, deadline, completion, false);
    }

    @Override
    public void flush() {
        if (!ReadBatch.defer(writer)) {
            writer.flush();
        }
    }

    private CompletableFuture<byte[]> submit(String op, byte[] body, Deadline deadline, Executor completion,
            boolean write) {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(deadline, "deadline");
        byte[] opBytes = RequestPayload.opBytes(op);
        TidewireException refusal = refusalOfNewCall(op);
        if (refusal != null) {
            return CompletableFuture.failedFuture(refusal);
        }
        int size = RequestPayload.length(opBytes, body);
        if (size > peerMaxFrameSize) {
            return CompletableFuture.failedFuture(new RequestTooLargeException(op, size, peerMaxFrameSize));
        }
        PendingCall call = new PendingCall(this, op, opBytes, body, deadline, completion);
        if (waiters.isEmpty() && takeSlot()) {
            if (!call.admit()) {
                returnSlot();
            } else {
                writer.enqueue(call);
                if (write) {
                    flush();
                }
            }
        } else {
            waiterDeadlines.computeIfAbsent(Math.floorDiv(call.deadlineNanos(), DEADLINE_SLOT_NANOS),
                    k -> new ConcurrentLinkedQueue<>()).offer(call);
            waiters.offer(call);
            dispatchWaiters();
        }
        if (state.get() == State.CLOSED) {
            call.fail(failureFor(call));
        }
        return call;
    }

    private TidewireException refusalOfNewCall(String op) {
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

    /** Why a call admitted earlier must not be written now, or null to write it. Writer thread. */
    TidewireException refusalBeforeWrite() {
        if (goAwayReceived) {
            return new NotProcessedException("request not sent: server " + address + " sent GOAWAY", null);
        }
        if (state.get() == State.CLOSED) {
            return new NotProcessedException("request not sent: " + describeClosed(), closeReason);
        }
        return null;
    }

    /**
     * Assigns the next request id and registers the call under it; -1 if the connection closed
     * meanwhile (the caller then fails the call). Writer thread only.
     */
    long register(PendingCall call) {
        long id = ++nextId;
        lastIssuedId = id;
        pending.put(id, call);
        if (state.get() == State.CLOSED) {
            // failConnection may have swept `pending` before this put: the caller settles the call.
            pending.remove(id, call);
            return -1;
        }
        return id;
    }

    void unregister(long id, PendingCall call) {
        pending.remove(id, call);
    }

    /** Called once per call by whoever claimed it. */
    void onCallFinished(PendingCall call, boolean heldSlot) {
        long id = call.id();
        if (id != 0) {
            pending.remove(id, call);
        }
        if (heldSlot) {
            returnSlot();
            if (!waiters.isEmpty()) {
                dispatchWaiters();
            }
        }
    }

    private boolean takeSlot() {
        for (;;) {
            int free = freeSlots.get();
            if (free <= 0) {
                return false;
            }
            if (freeSlots.compareAndSet(free, free - 1)) {
                return true;
            }
        }
    }

    private void returnSlot() {
        freeSlots.incrementAndGet();
    }

    // Both enqueuers and slot returners call this after changing their side, so no wake-up is lost.
    private void dispatchWaiters() {
        while (!waiters.isEmpty() && takeSlot()) {
            PendingCall next = waiters.poll();
            if (next != null && next.admit()) {
                send(next);
            } else {
                returnSlot();
            }
        }
    }

    void sendCancel(long id) {
        if (state.get() != State.CLOSED) {
            send(new FrameOutbound(Frame.of(FrameType.CANCEL, id)));
        }
    }

    /**
     * Writes {@code item}, except on the shared timer thread: a socket write can block while the
     * peer is not reading, and a blocked timer would stop every deadline and heartbeat of the
     * client. There the item is only queued and a callback thread flushes it.
     */
    private void send(Outbound item) {
        if (!resources.isTimerThread()) {
            writer.write(item);
            return;
        }
        writer.enqueue(item);
        try {
            resources.callbackExecutor().execute(writer::flush);
        } catch (RejectedExecutionException e) {
            // shutting down: the connection is closing too
        }
    }

    // ---------------------------------------------------------------- reader thread

    private void readLoop() {
        byte[] buf = new byte[64 * 1024];
        ByteBuffer view = ByteBuffer.wrap(buf);
        ReadBatch batch = ReadBatch.forReaderThread();
        try {
            for (Frame f : earlyFrames) {
                onFrame(f);
            }
            earlyFrames.clear();
            for (;;) {
                int n = in.read(buf);
                if (n < 0) {
                    String how = decoder.isIdle() ? "" : " in the middle of a frame";
                    failConnection(new ConnectionLostException("server " + address + " closed the connection" + how,
                            null));
                    return;
                }
                lastReadNanos = System.nanoTime();
                view.clear().limit(n);
                batch.begin(true);
                try {
                    decoder.decode(view, this::onFrame);
                } finally {
                    batch.end(); // requests sent by code the replies completed go out now, one write each connection
                }
            }
        } catch (ProtocolException e) {
            failConnection(e);
        } catch (IOException e) {
            failConnection(new ConnectionLostException("connection to " + address + " failed: " + e.getMessage(), e));
        } catch (Throwable e) {
            LOG.log(Level.ERROR, "reader of connection to " + address + " crashed", e);
            failConnection(new ConnectionLostException("reader of connection to " + address + " crashed: " + e, e));
        } finally {
            if (ownsResources) {
                resources.close();
            }
            closeFuture.complete(null);
        }
    }

    private void onFrame(Frame frame) {
        framesRead++;
        switch (frame.type()) {
            case RESPONSE -> onReply(frame, null);
            case ERROR -> {
                ErrorPayload error = ErrorPayload.decode(frame.payload());
                if (frame.requestId() == 0) {
                    throw new ProtocolException("server " + address + " reported a connection error "
                            + ErrorCode.describe(error.code()) + ": " + error.message());
                }
                onReply(frame, error);
            }
            case PING -> writer.write(new FrameOutbound(Frame.of(FrameType.PONG, frame.requestId())));
            case PONG -> {
                // any frame proves the peer alive; lastReadNanos is already updated
            }
            case GOAWAY -> onGoAway(frame.requestId(), GoAwayPayload.decode(frame.payload()).reason());
            default -> throw new ProtocolException("server " + address + " sent an unexpected " + frame.type()
                    + " frame after the handshake");
        }
    }

    private void onReply(Frame frame, ErrorPayload error) {
        long id = frame.requestId();
        PendingCall call = pending.remove(id);
        if (call == null) {
            if (id <= 0 || id > lastIssuedId) {
                throw new ProtocolException("server " + address + " replied to request id " + id
                        + ", which was never issued (last issued: " + lastIssuedId + ")");
            }
            lateResponses++;
            return;
        }
        boolean delivered;
        if (error == null) {
            delivered = call.succeed(frame.payload());
        } else if (error.code() == ErrorCode.NOT_PROCESSED) {
            delivered = call.fail(new NotProcessedException("op '" + call.op() + "' (request " + id
                    + ") was not processed by " + address + ": " + error.message(), null));
        } else {
            delivered = call.fail(new RemoteException(call.op(), id, error.code(), error.message()));
        }
        if (!delivered) {
            lateResponses++;
        }
    }

    private void onGoAway(long lastId, String reason) {
        goAwayLastId = lastId;
        goAwayReceived = true;
        state.compareAndSet(State.OPEN, State.DRAINING);
        LOG.log(Level.DEBUG, () -> "server " + address + " sent GOAWAY (last id " + lastId + "): " + reason);
        for (PendingCall w; (w = waiters.poll()) != null; ) {
            w.fail(new NotProcessedException("op '" + w.op() + "' was not sent: server " + address
                    + " sent GOAWAY (" + reason + ")", null));
        }
    }

    // ---------------------------------------------------------------- timer thread

    private void tick(long now) {
        State s = state.get();
        if (s == State.CLOSED) {
            return;
        }
        switch (heartbeat.check(now, lastReadNanos)) {
            case DEAD -> {
                failConnection(new ConnectionLostException("no frame from " + address + " for "
                        + TimeUnit.NANOSECONDS.toMillis(now - lastReadNanos) + " ms (heartbeat timeout "
                        + options.heartbeatTimeout().toMillis() + " ms); the peer is presumed dead", null));
                return;
            }
            case PING -> send(new FrameOutbound(Frame.of(FrameType.PING, ++pingNonce)));
            case NONE -> {
            }
        }
        if (!pending.isEmpty()) {
            for (PendingCall c : pending.values()) {
                if (c.isExpired(now)) {
                    c.timeout(now, "");
                }
            }
        }
        // Only slots that have fully passed: every deadline in them is before now.
        for (var it = waiterDeadlines.headMap(Math.floorDiv(now, DEADLINE_SLOT_NANOS)).values().iterator(); it.hasNext(); ) {
            for (PendingCall c : it.next()) {
                if (c.isQueued()) { // an admitted call's deadline is watched in `pending` or the writer queue
                    c.timeout(now, "waited for a free in-flight slot (limit " + maxInFlight + ")");
                }
            }
            it.remove();
        }
        for (Iterator<Outbound> it = writer.queued(); it.hasNext(); ) {
            if (it.next() instanceof PendingCall c && c.isExpired(now)) {
                c.timeout(now, "waited for the socket to accept it");
            }
        }
        if (s == State.DRAINING && pending.isEmpty() && waiters.isEmpty() && writer.isIdle()) {
            failConnection(new NotProcessedException("connection to " + address + " drained and closed", null));
        }
    }

    // ---------------------------------------------------------------- closing

    @Override
    public CompletableFuture<Void> shutdown() {
        state.compareAndSet(State.OPEN, State.DRAINING);
        return closeFuture;
    }

    @Override
    public void close() {
        failConnection(new ClientClosedException("connection to " + address + " closed by the client"));
        if (Thread.currentThread() != reader) {
            try {
                reader.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Fails the connection once: CLOSED first, then the socket, then every call in every place.
     * Safe from any thread, any number of times.
     */
    void failConnection(TidewireException reason) {
        State previous = state.getAndSet(State.CLOSED);
        if (previous == State.CLOSED) {
            return;
        }
        closeReason = reason;
        if (!(reason instanceof ClientClosedException)) {
            LOG.log(Level.DEBUG, () -> "connection to " + address + " failed: " + reason.getMessage());
        }
        closeQuietly(socket);
        closeQuietly(tickRegistration);
        writer.fail();
        for (PendingCall c : pending.values()) {
            c.fail(failureFor(c));
        }
        for (PendingCall w; (w = waiters.poll()) != null; ) {
            w.fail(failureFor(w));
        }
        waiterDeadlines.clear();
        if (!reader.isAlive() && reader.getState() != Thread.State.NEW) {
            closeFuture.complete(null);
        }
    }

    /** The error a call left pending on a closed connection ends with. */
    TidewireException failureFor(PendingCall call) {
        RuntimeException reason = closeReason;
        String what = "op '" + call.op() + "'" + (call.id() != 0 ? " (request " + call.id() + ")" : "");
        if (!call.sent()) {
            return new NotProcessedException(what + " was not sent: " + describeClosed(), reason);
        }
        if (call.id() > goAwayLastId) {
            return new NotProcessedException(what + " was not processed: the server's GOAWAY named last id "
                    + goAwayLastId, reason);
        }
        if (reason instanceof ClientClosedException) {
            return new ClientClosedException(what + " was in flight when the connection to " + address
                    + " was closed by the client; it may have been processed");
        }
        if (reason instanceof ProtocolException) {
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
        return maxInFlight - freeSlots.get();
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public long lastReadNanos() {
        return lastReadNanos;
    }

    @Override
    public ConnectionStats stats() {
        return new ConnectionStats(writer.framesWritten(), writer.socketWrites(), framesRead, lateResponses,
                inFlight(), waiters.size());
    }

    /** Calls registered under an id and not yet ended (for tests and leak checks). */
    public int pendingCount() {
        return pending.size();
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

    private static int millisLeft(Deadline deadline) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadline.remainingNanos());
        if (ms <= 0) {
            return 1;
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing is best effort
        }
    }
}
