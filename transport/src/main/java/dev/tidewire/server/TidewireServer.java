package dev.tidewire.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import dev.tidewire.transport.TlsConfig;

/**
 * The reference Tidewire server: accepts connections, answers HELLO and PING, dispatches requests
 * to handlers by op name and writes replies in the order they complete.
 *
 * <pre>{@code
 * TidewireServer server = TidewireServer.builder()
 *         .port(0)                                    // any free port on 127.0.0.1
 *         .blockingHandler("greet", req -> req.toJson(Map.of("hello", req.json().path("name").asText())))
 *         .build()
 *         .start();
 * int port = server.port();
 * ...
 * server.shutdown(Duration.ofSeconds(5));             // GOAWAY, drain, close
 * }</pre>
 *
 * <p>Built in: {@code echo} (replies with the request body), {@code sleep} ({@code {"millis":N}}:
 * replies with the body after N ms, holding no thread) and {@code fail} ({@code {"code":N,
 * "message":"..."}}: answers ERROR with that code). Registering a handler under the same name
 * replaces a built-in.
 *
 * <p>Threads: one acceptor, one reader per connection (which runs {@link Handler}s inline), a
 * bounded pool for {@link BlockingHandler}s, and one timer. A slow handler never stops other
 * connections from being read.
 */
public final class TidewireServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TidewireServer.class.getName());
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    record Route(Handler handler, BlockingHandler blockingHandler) {
    }

    private final Builder config;
    private final Map<String, Route> routes;
    private final ObjectMapper mapper;
    private final int instance = INSTANCES.incrementAndGet();
    private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionNumbers = new AtomicInteger();
    private final ScheduledThreadPoolExecutor timer;
    private final ThreadPoolExecutor handlerPool;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong overloaded = new AtomicLong();
    private final AtomicLong notProcessed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong authenticationFailures = new AtomicLong();
    private final AtomicLong tlsHandshakeFailures = new AtomicLong();
    private final AtomicLong internalErrors = new AtomicLong();
    private final AtomicInteger maxObservedInFlight = new AtomicInteger();
    private volatile ServerSocket listener;
    private volatile Thread acceptor;
    private volatile boolean stopping;

    private TidewireServer(Builder b) {
        this.config = b.copy();
        this.mapper = b.mapper != null ? b.mapper : dev.tidewire.protocol.JsonLimits.newObjectMapper();
        this.timer = new ScheduledThreadPoolExecutor(1, daemon("tidewire-server-" + instance + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
        this.handlerPool = new ThreadPoolExecutor(b.handlerThreads, b.handlerThreads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(b.handlerQueueCapacity), daemon("tidewire-server-" + instance + "-handler"));
        this.handlerPool.allowCoreThreadTimeOut(true);
        Map<String, Route> r = new HashMap<>();
        r.put("echo", new Route(BuiltinHandlers.echo(), null));
        r.put("sleep", new Route(BuiltinHandlers.sleep(timer), null));
        r.put("fail", new Route(BuiltinHandlers.fail(), null));
        r.putAll(b.routes);
        this.routes = Map.copyOf(r);
    }

    /** A builder with every default: 127.0.0.1, a free port, the built-in handlers. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds and starts accepting connections.
     *
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if already started
     */
    public synchronized TidewireServer start() {
        if (listener != null) {
            throw new IllegalStateException("server already started");
        }
        try {
            // With TLS the listener stays plain: each accepted socket is wrapped (no I/O) and its
            // handshake runs on the connection's thread; the plain socket stays ours to close, so
            // a refused handshake can end with a lingering close instead of a reset that would
            // destroy the TLS alert before the client reads it.
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(config.bindAddress, config.port), config.backlog);
            listener = s;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind " + config.bindAddress + ":" + config.port + ": " + e.getMessage(), e);
        }
        long tick = Math.max(10, Math.min(250, config.helloTimeout.toMillis() / 4));
        timer.scheduleAtFixedRate(this::tick, tick, tick, TimeUnit.MILLISECONDS);
        Thread t = new Thread(this::acceptLoop, "tidewire-server-" + instance + "-accept");
        t.setDaemon(true);
        acceptor = t;
        t.start();
        return this;
    }

    /** The bound port (the chosen one when built with port 0). */
    public int port() {
        return listener.getLocalPort();
    }

    /** The bound address and port. */
    public InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    /** Current counters. */
    public ServerStats stats() {
        return new ServerStats(accepted.get(), connections.size(), requests.get(), overloaded.get(),
                notProcessed.get(), cancelled.get(), maxObservedInFlight.get(), protocolErrors.get(),
                authenticationFailures.get(), tlsHandshakeFailures.get(), internalErrors.get());
    }

    /**
     * Graceful shutdown: stops accepting, sends every connection GOAWAY with the last request id
     * it will answer, lets those requests finish, refuses later ones with NOT_PROCESSED, then
     * closes. Whatever is still open after {@code grace} is closed at once. Blocks until done.
     */
    public void shutdown(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        stopping = true;
        closeListener();
        for (ServerConnection c : connections) {
            c.goAway("server shutting down");
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (ServerConnection c : connections) {
            joinQuietly(c.thread(), deadline);
        }
        close();
    }

    /** Closes at once: the listener, every connection (requests in flight are dropped), every thread. Idempotent. */
    @Override
    public void close() {
        stopping = true;
        closeListener();
        for (ServerConnection c : connections) {
            c.close();
        }
        handlerPool.shutdownNow();
        timer.shutdownNow();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Thread a = acceptor;
        if (a != null) {
            joinQuietly(a, deadline);
        }
        for (ServerConnection c : connections) {
            joinQuietly(c.thread(), deadline);
        }
        try {
            handlerPool.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            timer.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        ServerSocket s = listener;
        while (!stopping) {
            Socket socket;
            try {
                socket = s.accept();
            } catch (IOException e) {
                if (!stopping) {
                    LOG.log(Level.WARNING, "accept failed; server stops accepting", e);
                }
                return;
            }
            accepted.incrementAndGet();
            try {
                socket.setTcpNoDelay(true);
                if (connections.size() >= config.maxConnections) {
                    if (config.tls != null) {
                        // an ERROR frame would need a TLS handshake, which must not run on the acceptor
                        closeQuietly(socket);
                        continue;
                    }
                    refuse(socket, "server has its maximum of " + config.maxConnections + " connections");
                    continue;
                }
                dev.tidewire.transport.internal.SocketTuning.apply(socket, config.keepAliveIdle,
                        config.keepAliveInterval, config.keepAliveCount);
                ServerConnection c = new ServerConnection(this, socket, wrap(socket), connectionNumbers.incrementAndGet());
                connections.add(c);
                if (stopping) {
                    c.close();
                    return;
                }
                c.start();
            } catch (IOException e) {
                closeQuietly(socket);
            }
        }
    }

    /** With TLS, the accepted socket layered in server mode (no I/O happens here); else itself. */
    private Socket wrap(Socket plain) throws IOException {
        if (config.tls == null) {
            return plain;
        }
        SSLSocket tls = (SSLSocket) config.tls.sslContext().getSocketFactory()
                .createSocket(plain, plain.getInetAddress().getHostAddress(), plain.getPort(), false);
        tls.setUseClientMode(false);
        tls.setNeedClientAuth(config.requireClientAuth);
        return tls;
    }

    /**
     * Sends ERROR OVERLOADED and half-closes; the socket is closed a second later, so the client's
     * unread HELLO does not turn the close into a reset that destroys the ERROR before it is read.
     */
    private void refuse(Socket socket, String why) {
        try {
            socket.getOutputStream().write(FrameEncoder.encode(ServerConnection.errorFrame(0, ErrorCode.OVERLOADED, why)));
            socket.shutdownOutput();
            timer.schedule(() -> closeQuietly(socket), 1, TimeUnit.SECONDS);
        } catch (IOException | java.util.concurrent.RejectedExecutionException e) {
            closeQuietly(socket);
        }
    }

    private void tick() {
        long now = System.nanoTime();
        for (ServerConnection c : connections) {
            try {
                c.tick(now);
            } catch (RuntimeException e) {
                internalErrors.incrementAndGet();
                LOG.log(Level.ERROR, "server timer task failed", e);
            }
        }
    }

    // ---- for ServerConnection

    Route route(String op) {
        return routes.get(op);
    }

    ObjectMapper mapper() {
        return mapper;
    }

    ServerListener listener() {
        return config.listener;
    }

    ExecutorService handlerPool() {
        return handlerPool;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    int maxFrameSize() {
        return config.maxFrameSize;
    }

    int maxInFlightPerConnection() {
        return config.maxInFlightPerConnection;
    }

    int writeBufferSize() {
        return config.writeBufferSize;
    }

    Duration helloTimeout() {
        return config.helloTimeout;
    }

    Duration idleTimeout() {
        return config.idleTimeout;
    }

    void connectionClosed(ServerConnection c) {
        connections.remove(c);
    }

    void requestReceived() {
        requests.incrementAndGet();
    }

    void rejectedOverloaded() {
        overloaded.incrementAndGet();
    }

    void refusedNotProcessed() {
        notProcessed.incrementAndGet();
    }

    void cancelled() {
        cancelled.incrementAndGet();
    }

    void protocolError() {
        protocolErrors.incrementAndGet();
    }

    void tlsHandshakeFailed() {
        tlsHandshakeFailures.incrementAndGet();
    }

    void internalError() {
        internalErrors.incrementAndGet();
    }

    void authenticationFailed() {
        authenticationFailures.incrementAndGet();
    }

    Authenticator authenticator() {
        return config.authenticator;
    }

    void observeInFlight(int n) {
        if (n > maxObservedInFlight.get()) {
            maxObservedInFlight.accumulateAndGet(n, Math::max);
        }
    }

    private void closeListener() {
        ServerSocket s = listener;
        if (s != null) {
            closeQuietly(s);
        }
    }

    private static void joinQuietly(Thread t, long deadlineNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (ms <= 0 || t == Thread.currentThread()) {
            return;
        }
        try {
            t.join(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Settings of a {@link TidewireServer}; each setter checks its argument. */
    public static final class Builder {
        /** Default largest payload accepted: 16 MiB. */
        public static final int DEFAULT_MAX_FRAME_SIZE = Protocol.DEFAULT_MAX_FRAME_SIZE;
        /** Default requests in flight per connection, announced in HELLO: 1024. */
        public static final int DEFAULT_MAX_IN_FLIGHT = 1024;
        /** Default connection limit: 1024. */
        public static final int DEFAULT_MAX_CONNECTIONS = 1024;
        /** Default idle timeout (no frame received): 60 s. */
        public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
        /** Default time a new connection has to send HELLO: 10 s. */
        public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);

        private InetAddress bindAddress = InetAddress.getLoopbackAddress();
        private int port;
        private int backlog = 128;
        private int maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
        private int maxInFlightPerConnection = DEFAULT_MAX_IN_FLIGHT;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private Duration helloTimeout = DEFAULT_HELLO_TIMEOUT;
        private int handlerThreads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        private int handlerQueueCapacity = 1024;
        private int writeBufferSize = 64 * 1024;
        private Duration keepAliveIdle = Duration.ofSeconds(15);
        private Duration keepAliveInterval = Duration.ofSeconds(5);
        private int keepAliveCount = 3;
        private ObjectMapper mapper;
        private ServerListener listener = ServerListener.NONE;
        private Authenticator authenticator = Authenticator.ACCEPT_ALL;
        private TlsConfig tls;
        private boolean requireClientAuth;
        private final Map<String, Route> routes = new HashMap<>();

        private Builder() {
        }

        /** Address to bind; default loopback (127.0.0.1). */
        public Builder bindAddress(InetAddress bindAddress) {
            this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
            return this;
        }

        /** Port, 0..65535; 0 (default) picks a free one, see {@link TidewireServer#port()}. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /** Largest request payload accepted, bytes, 4 KiB..1 GiB; default 16 MiB. */
        public Builder maxFrameSize(int maxFrameSize) {
            if (maxFrameSize < Protocol.MIN_MAX_FRAME_SIZE || maxFrameSize > Protocol.MAX_MAX_FRAME_SIZE) {
                throw new IllegalArgumentException("maxFrameSize must be in " + Protocol.MIN_MAX_FRAME_SIZE + ".."
                        + Protocol.MAX_MAX_FRAME_SIZE + " bytes, got " + maxFrameSize);
            }
            this.maxFrameSize = maxFrameSize;
            return this;
        }

        /** Requests in flight per connection, announced in HELLO and enforced with OVERLOADED; &gt;= 1, default 1024. */
        public Builder maxInFlightPerConnection(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxInFlightPerConnection must be >= 1, got " + max);
            }
            this.maxInFlightPerConnection = max;
            return this;
        }

        /** Open connections allowed; more are refused with OVERLOADED; &gt;= 1, default 1024. */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be >= 1, got " + max);
            }
            this.maxConnections = max;
            return this;
        }

        /** Close a connection after this long without a frame; {@link Duration#ZERO} disables; default 60 s. */
        public Builder idleTimeout(Duration idleTimeout) {
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            if (idleTimeout.isNegative()) {
                throw new IllegalArgumentException("idleTimeout must be >= 0, got " + idleTimeout);
            }
            this.idleTimeout = idleTimeout;
            return this;
        }

        /** Time a new connection has to complete HELLO, &gt; 0; default 10 s. */
        public Builder helloTimeout(Duration helloTimeout) {
            Objects.requireNonNull(helloTimeout, "helloTimeout");
            if (helloTimeout.isNegative() || helloTimeout.isZero()) {
                throw new IllegalArgumentException("helloTimeout must be > 0, got " + helloTimeout);
            }
            this.helloTimeout = helloTimeout;
            return this;
        }

        /** Threads for blocking handlers, 1..1024; default max(4, 2 x cores). */
        public Builder handlerThreads(int n) {
            if (n < 1 || n > 1024) {
                throw new IllegalArgumentException("handlerThreads must be in 1..1024, got " + n);
            }
            this.handlerThreads = n;
            return this;
        }

        /** Blocking requests that may wait for a handler thread before OVERLOADED, &gt;= 1; default 1024. */
        public Builder handlerQueueCapacity(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("handlerQueueCapacity must be >= 1, got " + n);
            }
            this.handlerQueueCapacity = n;
            return this;
        }

        /**
         * The JSON mapper handed to handlers through {@link ServerRequest}; default
         * {@link dev.tidewire.protocol.JsonLimits#newObjectMapper()} (nesting, number and string limits).
         */
        public Builder objectMapper(ObjectMapper mapper) {
            this.mapper = Objects.requireNonNull(mapper, "mapper");
            return this;
        }

        /**
         * TCP keepalive on accepted connections, so a client that vanishes while its requests run
         * is still noticed: idle time before probing (whole seconds &gt;= 1, or zero for off),
         * interval (whole seconds &gt;= 1), probes (1..127). Defaults 15 s, 5 s, 3.
         */
        public Builder keepAlive(Duration idle, Duration interval, int count) {
            dev.tidewire.transport.ConnectionOptions.builder().keepAlive(idle, interval, count); // same rules
            this.keepAliveIdle = idle;
            this.keepAliveInterval = interval;
            this.keepAliveCount = count;
            return this;
        }

        /**
         * Checks the credentials of each client's HELLO; a refused client gets ERROR code 4
         * {@code UNAUTHENTICATED} and is disconnected (counted in
         * {@link ServerStats#authenticationFailures()}). Default {@link Authenticator#ACCEPT_ALL}.
         */
        public Builder authenticator(Authenticator authenticator) {
            this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
            return this;
        }

        /**
         * Serve TLS (each accepted socket is layered with an {@code SSLSocket} in server mode):
         * the config's key store holds the server's key and certificate; with
         * {@code requireClientAuth} clients must present a certificate its trust store trusts
         * (mutual TLS). The handshake runs on the connection's own thread, bounded by
         * {@link #helloTimeout}; it never blocks the acceptor. With TLS, connections over
         * {@link #maxConnections} are closed without an ERROR frame. Default plain TCP.
         */
        public Builder tls(TlsConfig tls, boolean requireClientAuth) {
            this.tls = Objects.requireNonNull(tls, "tls");
            this.requireClientAuth = requireClientAuth;
            return this;
        }

        /** Same as {@code tls(TlsConfig.of(sslContext), requireClientAuth)}. */
        public Builder tls(SSLContext sslContext, boolean requireClientAuth) {
            return tls(TlsConfig.of(sslContext), requireClientAuth);
        }

        /** Receives request events (for metrics); default none. */
        public Builder listener(ServerListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Registers a non-blocking handler for {@code op} (replacing any earlier one). */
        public Builder handler(String op, Handler handler) {
            routes.put(checkOp(op), new Route(Objects.requireNonNull(handler, "handler"), null));
            return this;
        }

        /** Registers a blocking handler for {@code op}, run on the handler pool (replacing any earlier one). */
        public Builder blockingHandler(String op, BlockingHandler handler) {
            routes.put(checkOp(op), new Route(null, Objects.requireNonNull(handler, "handler")));
            return this;
        }

        /** The server; call {@link TidewireServer#start()} to bind. */
        public TidewireServer build() {
            return new TidewireServer(this);
        }

        private static String checkOp(String op) {
            dev.tidewire.protocol.RequestPayload.opBytes(op);
            return op;
        }

        private Builder copy() {
            Builder b = new Builder();
            b.bindAddress = bindAddress;
            b.port = port;
            b.backlog = backlog;
            b.maxFrameSize = maxFrameSize;
            b.maxInFlightPerConnection = maxInFlightPerConnection;
            b.maxConnections = maxConnections;
            b.idleTimeout = idleTimeout;
            b.helloTimeout = helloTimeout;
            b.handlerThreads = handlerThreads;
            b.handlerQueueCapacity = handlerQueueCapacity;
            b.writeBufferSize = writeBufferSize;
            b.keepAliveIdle = keepAliveIdle;
            b.keepAliveInterval = keepAliveInterval;
            b.keepAliveCount = keepAliveCount;
            b.mapper = mapper;
            b.listener = listener;
            b.authenticator = authenticator;
            b.tls = tls;
            b.requireClientAuth = requireClientAuth;
            b.routes.putAll(routes);
            return b;
        }
    }
}
