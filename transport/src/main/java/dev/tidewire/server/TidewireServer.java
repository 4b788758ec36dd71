package dev.tidewire.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.transport.ChecksumMode;
import dev.tidewire.transport.TlsConfig;
import dev.tidewire.transport.internal.NettyRuntime;
import dev.tidewire.transport.internal.RateLimitedLog;
import dev.tidewire.transport.internal.RuntimeRequirements;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;

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
 * <p>Threads (Netty): one boss event loop ({@code tidewire-server-<i>-boss-*}) accepts connections;
 * {@link Builder#ioThreads} worker event loops ({@code tidewire-server-<i>-io-*}) each serve many
 * connections: they read and decode frames, run {@link Handler}s, write every reply and fire every
 * timer of their connections (HELLO, idle and frame timeouts, the {@code sleep} op, the linger
 * before a close); a bounded pool ({@code tidewire-server-<i>-handler-*}, started on demand) runs
 * {@link BlockingHandler}s and hands their replies back to the connection's loop. No thread per
 * connection. A slow blocking handler never stops any connection from being read; a non-blocking
 * handler that blocks stalls every connection of its loop.
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
    private final AtomicInteger admitted = new AtomicInteger();
    private final Map<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor handlerPool;
    private final SslContext sslContext;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong overloaded = new AtomicLong();
    private final AtomicLong notProcessed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong deadlineExceeded = new AtomicLong();
    private final List<ServerInterceptor> interceptors;
    private final java.util.function.UnaryOperator<Runnable> onWorker;
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong authenticationFailures = new AtomicLong();
    private final AtomicLong tlsHandshakeFailures = new AtomicLong();
    private final AtomicLong internalErrors = new AtomicLong();
    // one line per kind and window, whatever the peers do: a client must not be able to flood the log
    private final RateLimitedLog connectionFailures = new RateLimitedLog(
            System.getLogger(ServerConnection.class.getName()));
    private final AtomicInteger maxObservedInFlight = new AtomicInteger();
    private final AtomicLong inFlightRequestBytes = new AtomicLong();
    private final AtomicLong maxQueuedReplyBytes = new AtomicLong();
    private final AtomicLong flushes = new AtomicLong();
    private volatile EventLoopGroup boss;
    private volatile EventLoopGroup workers;
    private volatile Channel listener;
    private volatile boolean stopping;

    private TidewireServer(Builder b) {
        this.config = b.copy();
        this.mapper = b.mapper != null ? b.mapper : dev.tidewire.protocol.JsonLimits.newObjectMapper();
        this.handlerPool = new ThreadPoolExecutor(b.handlerThreads, b.handlerThreads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(b.handlerQueueCapacity), daemon("tidewire-server-" + instance + "-handler"));
        this.handlerPool.allowCoreThreadTimeOut(true);
        this.sslContext = b.tls == null ? null : NettyRuntime.serverContext(b.tls, b.requireClientAuth);
        Map<String, Route> r = new HashMap<>();
        r.put("echo", new Route(BuiltinHandlers.echo(), null));
        r.put("sleep", new Route(BuiltinHandlers.sleep(), null));
        r.put("fail", new Route(BuiltinHandlers.fail(), null));
        r.put("metadata", new Route(BuiltinHandlers.metadata(), null));
        r.putAll(b.routes);
        this.routes = Map.copyOf(r);
        this.interceptors = List.copyOf(b.interceptors);
        this.onWorker = b.onWorker;
    }

    /**
     * A builder with every default: 127.0.0.1, a free port, the built-in handlers.
     *
     * @throws IllegalStateException if the Netty on the class path is older than 4.2, or Jackson
     *                               older than 2.15 (the message names what was found)
     */
    public static Builder builder() {
        RuntimeRequirements.check();
        return new Builder();
    }

    /**
     * Binds and starts accepting connections.
     *
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if already started
     */
    public synchronized TidewireServer start() {
        if (boss != null) {
            throw new IllegalStateException("server already started");
        }
        boss = NettyRuntime.newEventLoopGroup(1, "tidewire-server-" + instance + "-boss");
        workers = NettyRuntime.newEventLoopGroup(config.ioThreads, "tidewire-server-" + instance + "-io");
        int high = config.outboundBufferBytes;
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(boss, workers)
                .channel(NettyRuntime.serverSocketChannelClass())
                .option(ChannelOption.SO_BACKLOG, config.backlog)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(high / 2, high))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        admit(ch);
                    }
                });
        try {
            listener = bootstrap.bind(new InetSocketAddress(config.bindAddress, config.port)).syncUninterruptibly().channel();
        } catch (Exception e) {
            shutDownGroups(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            String text = "cannot bind " + config.bindAddress + ":" + config.port + ": " + e.getMessage();
            java.io.IOException io = e instanceof java.io.IOException x ? x : new java.io.IOException(text, e);
            throw new UncheckedIOException(text, io);
        }
        return this;
    }

    /** The bound port (the chosen one when built with port 0). */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The bound address and port. */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** Current counters. */
    public ServerStats stats() {
        return new ServerStats(accepted.get(), connections.size(), requests.get(), overloaded.get(),
                notProcessed.get(), cancelled.get(), maxObservedInFlight.get(), protocolErrors.get(),
                authenticationFailures.get(), tlsHandshakeFailures.get(), internalErrors.get(), deadlineExceeded.get());
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
        List<ServerConnection> open = new ArrayList<>(connections);
        for (ServerConnection c : open) {
            c.goAway("server shutting down");
        }
        long deadline = System.nanoTime() + grace.toNanos();
        if (!onOurLoop()) {
            for (ServerConnection c : open) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                c.channel().closeFuture().awaitUninterruptibly(TimeUnit.NANOSECONDS.toMillis(left) + 1);
            }
        }
        close();
    }

    /** Closes at once: the listener, every connection (requests in flight are dropped), every thread. Idempotent. */
    @Override
    public void close() {
        stopping = true;
        closeListener();
        for (ServerConnection c : new ArrayList<>(connections)) {
            c.close();
        }
        handlerPool.shutdownNow();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        shutDownGroups(deadline);
        if (!onOurLoop()) {
            try {
                handlerPool.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the event loops (no quiet period: the connections are closed already) and waits, bounded. */
    private void shutDownGroups(long deadlineNanos) {
        EventLoopGroup b = boss;
        EventLoopGroup w = workers;
        List<io.netty.util.concurrent.Future<?>> done = new ArrayList<>();
        if (b != null) {
            done.add(b.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        }
        if (w != null) {
            done.add(w.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        }
        if (onOurLoop()) {
            return; // a handler closed the server: the loops end once this task returns
        }
        for (io.netty.util.concurrent.Future<?> f : done) {
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) {
                f.awaitUninterruptibly(TimeUnit.NANOSECONDS.toMillis(left) + 1);
            }
        }
    }

    private boolean onOurLoop() {
        for (EventLoopGroup g : new EventLoopGroup[] {boss, workers}) {
            if (g != null) {
                for (EventExecutor e : g) {
                    if (e.inEventLoop()) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** A new child channel, on its event loop: refused over a limit, else a connection. */
    private void admit(SocketChannel ch) {
        accepted.incrementAndGet();
        if (stopping) {
            ch.close();
            return;
        }
        InetAddress host = ch.remoteAddress().getAddress();
        String refusal = null;
        if (admitted.incrementAndGet() > config.maxConnections) {
            admitted.decrementAndGet();
            refusal = "server has its maximum of " + config.maxConnections + " connections";
        } else if (!admitAddress(host)) {
            admitted.decrementAndGet();
            refusal = "server has its maximum of " + config.maxConnectionsPerAddress() + " connections from "
                    + host.getHostAddress();
        }
        if (refusal != null) {
            refuse(ch, refusal);
            return;
        }
        applyKeepAlive(ch);
        EdgeHandler edge = new EdgeHandler();
        SslHandler ssl = null;
        if (sslContext != null) {
            ssl = sslContext.newHandler(ch.alloc());
            ssl.setHandshakeTimeoutMillis(0); // bounded by the HELLO timeout, counted from accept
        }
        ServerConnection c = new ServerConnection(this, ch, host, edge, ssl);
        connections.add(c);
        ch.pipeline().addLast("edge", edge);
        if (ssl != null) {
            ch.pipeline().addLast("tls", ssl);
        }
        ch.pipeline().addLast("tidewire", c);
    }

    private boolean admitAddress(InetAddress host) {
        int max = config.maxConnectionsPerAddress();
        boolean[] ok = new boolean[1];
        perAddress.compute(host, (k, v) -> {
            int n = v == null ? 0 : v;
            if (n >= max) {
                return v;
            }
            ok[0] = true;
            return n + 1;
        });
        return ok[0];
    }

    /**
     * Over a limit: ERROR id 0 OVERLOADED and a FIN; the socket is closed a second later, so the
     * client's unread HELLO does not turn the close into a reset that destroys the ERROR before it
     * is read. With TLS the connection is closed at once (an ERROR would need a handshake).
     */
    private void refuse(SocketChannel ch, String why) {
        if (sslContext != null) {
            ch.close();
            return;
        }
        ch.pipeline().addLast("refuse", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(ServerConnection.encode(ctx.alloc(), ServerConnection.errorFrame(0, ErrorCode.OVERLOADED, why)))
                        .addListener((ChannelFutureListener) f -> {
                            if (f.isSuccess()) {
                                ((DuplexChannel) ctx.channel()).shutdownOutput();
                            }
                        });
                ctx.executor().schedule(() -> {
                    ctx.channel().close();
                }, 1, TimeUnit.SECONDS);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        });
    }

    private void applyKeepAlive(SocketChannel ch) {
        NettyRuntime.keepAlive(ch, config.keepAliveIdle, config.keepAliveInterval, config.keepAliveCount);
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

    int maxFrameSize() {
        return config.maxFrameSize;
    }

    /** Whether HELLO offers CRC32C frame checksums: the configured mode resolved against TLS. */
    boolean checksumOffered() {
        return config.checksum.offered(config.tls != null);
    }

    int maxInFlightPerConnection() {
        return config.maxInFlightPerConnection;
    }

    Duration helloTimeout() {
        return config.helloTimeout;
    }

    Duration idleTimeout() {
        return config.idleTimeout;
    }

    Duration frameTimeout() {
        return config.frameTimeout;
    }

    Duration writeStallTimeout() {
        return config.writeStallTimeout;
    }

    /** How often a busy connection looks at its idle timeout again: helloTimeout/4, clamped to 10..250 ms. */
    Duration checkInterval() {
        return Duration.ofMillis(Math.max(10, Math.min(250, config.helloTimeout.toMillis() / 4)));
    }

    void connectionClosed(ServerConnection c) {
        if (connections.remove(c)) {
            admitted.decrementAndGet();
            perAddress.computeIfPresent(c.remoteHost(), (k, v) -> v <= 1 ? null : v - 1);
        }
    }

    /** Takes {@code n} bytes of the in-flight request budget, or returns false if they do not fit. */
    boolean reserveRequestBytes(int n) {
        long max = config.maxInFlightRequestBytes;
        for (;;) {
            long now = inFlightRequestBytes.get();
            if (now + n > max) {
                return false;
            }
            if (inFlightRequestBytes.compareAndSet(now, now + n)) {
                return true;
            }
        }
    }

    void releaseRequestBytes(int n) {
        inFlightRequestBytes.addAndGet(-n);
    }

    /** Request bytes held now by requests whose reply has not been written yet (for tests and metrics). */
    long inFlightRequestBytes() {
        return inFlightRequestBytes.get();
    }

    /** Reply bytes queued now on all connections and not yet written to their sockets. */
    long queuedReplyBytes() {
        long sum = 0;
        for (ServerConnection c : connections) {
            sum += c.queuedBytes();
        }
        return sum;
    }

    /** The most reply bytes ever queued on one connection, seen after each reply was queued. */
    long maxQueuedReplyBytes() {
        return maxQueuedReplyBytes.get();
    }

    void observeQueued(long bytes) {
        if (bytes > maxQueuedReplyBytes.get()) {
            maxQueuedReplyBytes.accumulateAndGet(bytes, Math::max);
        }
    }

    void flushed() {
        flushes.incrementAndGet();
    }

    /** Flushes of reply batches so far, all connections (for tests: replies share flushes). */
    long flushes() {
        return flushes.get();
    }

    void requestReceived() {
        requests.incrementAndGet();
    }

    void rejectedOverloaded() {
        overloaded.incrementAndGet();
    }

    void deadlineExceeded() {
        deadlineExceeded.incrementAndGet();
    }

    List<ServerInterceptor> interceptors() {
        return interceptors;
    }

    /** Metadata limits this server announces in its HELLO, or null if it announces none. */
    Hello.MetadataLimits metadataLimits() {
        return config.metadataLimits;
    }

    /** What a handler-pool task runs: the task with the submitting thread's context (e.g. the observation) restored. */
    Runnable onWorker(Runnable task) {
        return onWorker.apply(task);
    }

    /**
     * The route's handler behind the interceptors, first registered outermost. A blocking handler
     * is reached through {@code blocking}, which runs it on the handler pool.
     */
    Handler intercepted(Route route, Handler blocking) {
        Handler next = route.handler() != null ? route.handler() : blocking;
        for (int i = interceptors.size() - 1; i >= 0; i--) {
            ServerInterceptor interceptor = interceptors.get(i);
            Handler inner = next;
            next = request -> interceptor.intercept(request, inner);
        }
        return next;
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

    /** Where connections log failures a peer could repeat: rate-limited per kind, not per peer. */
    RateLimitedLog connectionFailures() {
        return connectionFailures;
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
        Channel l = listener;
        if (l != null) {
            l.close();
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
        /** Default time a started frame has to arrive completely: 60 s. */
        public static final Duration DEFAULT_FRAME_TIMEOUT = Duration.ofSeconds(60);
        /** Default outbound budget per connection (reply bytes queued before it stops being read): 2 MiB. */
        public static final int DEFAULT_OUTBOUND_BUFFER_BYTES = 2 * 1024 * 1024;
        /** Default time a connection may stay over its outbound budget before it is closed: 30 s. */
        public static final Duration DEFAULT_WRITE_STALL_TIMEOUT = Duration.ofSeconds(30);
        /** Default budget of request bytes in flight on the whole server: 256 MiB. */
        public static final long DEFAULT_MAX_IN_FLIGHT_REQUEST_BYTES = 256L * 1024 * 1024;
        /** Default checksum mode: CRC32C frame checksums offered on plain TCP, not under TLS. */
        public static final ChecksumMode DEFAULT_CHECKSUM = ChecksumMode.AUTO;

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
        private int ioThreads = Runtime.getRuntime().availableProcessors();
        private int maxConnectionsPerAddress; // 0: same as maxConnections
        private int outboundBufferBytes = DEFAULT_OUTBOUND_BUFFER_BYTES;
        private Duration writeStallTimeout = DEFAULT_WRITE_STALL_TIMEOUT;
        private long maxInFlightRequestBytes = DEFAULT_MAX_IN_FLIGHT_REQUEST_BYTES;
        private Duration frameTimeout = DEFAULT_FRAME_TIMEOUT;
        private Duration keepAliveIdle = Duration.ofSeconds(15);
        private Duration keepAliveInterval = Duration.ofSeconds(5);
        private int keepAliveCount = 3;
        private ObjectMapper mapper;
        private ServerListener listener = ServerListener.NONE;
        private Authenticator authenticator = Authenticator.ACCEPT_ALL;
        private TlsConfig tls;
        private boolean requireClientAuth;
        private ChecksumMode checksum = DEFAULT_CHECKSUM;
        private final Map<String, Route> routes = new HashMap<>();
        private final List<ServerInterceptor> interceptors = new ArrayList<>();
        private Hello.MetadataLimits metadataLimits = Hello.MetadataLimits.DEFAULT;
        private java.util.function.UnaryOperator<Runnable> onWorker = java.util.function.UnaryOperator.identity();

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

        /** Open connections allowed; more are refused with OVERLOADED; &gt;= 1, default 1024. See also {@link #maxConnectionsPerAddress}. */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be >= 1, got " + max);
            }
            this.maxConnections = max;
            return this;
        }

        /**
         * Close an open connection with no request unanswered after this long without reading from
         * the client, counted from its last reply if that came later (protocol.md 5.5);
         * {@link Duration#ZERO} disables; default 60 s.
         */
        public Builder idleTimeout(Duration idleTimeout) {
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            if (idleTimeout.isNegative()) {
                throw new IllegalArgumentException("idleTimeout must be >= 0, got " + idleTimeout);
            }
            this.idleTimeout = idleTimeout;
            return this;
        }

        /**
         * Time a new connection has to complete HELLO (with TLS, the handshake and HELLO), counted
         * from accept, &gt; 0; default 10 s. A connection that has not is closed without an ERROR.
         */
        public Builder helloTimeout(Duration helloTimeout) {
            Objects.requireNonNull(helloTimeout, "helloTimeout");
            if (helloTimeout.isNegative() || helloTimeout.isZero()) {
                throw new IllegalArgumentException("helloTimeout must be > 0, got " + helloTimeout);
            }
            this.helloTimeout = helloTimeout;
            return this;
        }

        /**
         * Event-loop threads serving connections, 1..1024; default the number of available
         * processors. Each loop reads, runs {@link Handler}s, writes replies and fires the timers of
         * the connections assigned to it (round robin at accept); one more thread accepts.
         */
        public Builder ioThreads(int n) {
            if (n < 1 || n > 1024) {
                throw new IllegalArgumentException("ioThreads must be in 1..1024, got " + n);
            }
            this.ioThreads = n;
            return this;
        }

        /**
         * Open connections allowed from one source IP address, &gt;= 1; more from that address are
         * refused like those over {@link #maxConnections} (ERROR id 0 code 13, FIN, close a second
         * later; with TLS closed at once). Default: the same as {@code maxConnections}, so only the
         * global limit applies.
         */
        public Builder maxConnectionsPerAddress(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnectionsPerAddress must be >= 1, got " + max);
            }
            this.maxConnectionsPerAddress = max;
            return this;
        }

        /**
         * The outbound budget of one connection, bytes, 64 KiB..1 GiB; default 2 MiB. When more reply
         * bytes than this are queued for a client (it reads them slower than it asks for them),
         * the server stops reading that connection, so the client cannot make it queue more; it
         * reads again once the queue is below half of this. (Netty's write-buffer water marks:
         * high = this, low = half.) Memory held for a client that never reads stays about this
         * plus the replies of the requests it had in flight.
         */
        public Builder outboundBufferBytes(int bytes) {
            if (bytes < 64 * 1024 || bytes > (1 << 30)) {
                throw new IllegalArgumentException("outboundBufferBytes must be in 65536..1073741824, got " + bytes);
            }
            this.outboundBufferBytes = bytes;
            return this;
        }

        /**
         * Close a connection that stays over its {@link #outboundBufferBytes} budget (its client
         * reads none of its replies) for this long, &gt;= 0; {@link Duration#ZERO} never closes it
         * for that; default 30 s.
         */
        public Builder writeStallTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "writeStallTimeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("writeStallTimeout must be >= 0, got " + timeout);
            }
            this.writeStallTimeout = timeout;
            return this;
        }

        /**
         * Request payload bytes the whole server holds at once for requests not yet answered,
         * &gt;= 1; default 256 MiB. A request whose payload would take the total over it is refused
         * with ERROR 13 {@code OVERLOADED} (retryable, its handler never runs); a request's bytes
         * count from the moment it is accepted until its reply has been written to the socket, or
         * it is cancelled, or its connection closes.
         */
        public Builder maxInFlightRequestBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxInFlightRequestBytes must be >= 1, got " + bytes);
            }
            this.maxInFlightRequestBytes = bytes;
            return this;
        }

        /**
         * Time a frame that has started arriving (on an OPEN connection) has to arrive completely,
         * &gt; 0; default 60 s. A connection in the middle of a frame for longer is closed without an
         * ERROR, however steadily its bytes trickle in. Before HELLO the {@link #helloTimeout}
         * bounds the handshake instead.
         */
        public Builder frameTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "frameTimeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("frameTimeout must be > 0, got " + timeout);
            }
            this.frameTimeout = timeout;
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
         * Serve TLS (a Netty {@code SslHandler} per connection, OpenSSL/BoringSSL where it loads,
         * else the JDK's engine, see {@code NettyRuntime}): the config's key store holds the
         * server's key and certificate; with {@code requireClientAuth} clients must present a
         * certificate its trust store trusts (mutual TLS). The handshake runs on the connection's
         * event loop without blocking it, bounded by {@link #helloTimeout} (counted from accept).
         * With TLS, connections over {@link #maxConnections} or {@link #maxConnectionsPerAddress}
         * are closed without an ERROR frame. Default plain TCP.
         */
        public Builder tls(TlsConfig tls, boolean requireClientAuth) {
            this.tls = Objects.requireNonNull(tls, "tls");
            this.requireClientAuth = requireClientAuth;
            return this;
        }

        /**
         * Whether the server's HELLO offers CRC32C frame checksums ({@code docs/protocol.md} 2.4),
         * non-null. Default {@link ChecksumMode#AUTO}: offered on plain TCP, not under TLS. They
         * are used on a connection only when the client's HELLO offers them too; then a corrupted
         * request frame gets ERROR code 5 {@code CHECKSUM_MISMATCH} and the connection is closed
         * (counted in {@link ServerStats#protocolErrors()}).
         */
        public Builder checksum(ChecksumMode checksum) {
            this.checksum = Objects.requireNonNull(checksum, "checksum");
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

        /**
         * Adds an interceptor that sees every request around its handler; the first added is the
         * outermost. See {@link ServerInterceptor}.
         */
        public Builder interceptor(ServerInterceptor interceptor) {
            interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
            return this;
        }

        /**
         * The most metadata a request may carry, announced in the HELLO (protocol.md section 4.6):
         * entries and their encoded bytes, each 0..65535. Default 32 entries, 8192 bytes. A request
         * over them is answered {@code BAD_REQUEST}; the Java client refuses it before sending.
         */
        public Builder metadataLimits(int maxEntries, int maxBytes) {
            this.metadataLimits = new Hello.MetadataLimits(maxEntries, maxBytes);
            return this;
        }

        /**
         * Whether to announce metadata (and deadline) support in the HELLO; default true. Off, the
         * server behaves as a server of before metadata: clients send plain REQUEST frames without
         * deadline or metadata. For interoperability tests and for pinning old behaviour.
         */
        public Builder metadata(boolean announce) {
            this.metadataLimits = announce ? (metadataLimits == null ? Hello.MetadataLimits.DEFAULT : metadataLimits) : null;
            return this;
        }

        /**
         * Makes a Micrometer Observation per request in {@code registry}: with Micrometer Tracing,
         * a SERVER span per request, child of the client's span whose context came in the
         * request's metadata ({@code traceparent}). The observation is current while the handler
         * runs (on the handler-pool thread too, for a {@link BlockingHandler}), so a Tidewire client
         * called there continues the trace. Needs {@code micrometer-observation} on the class path
         * (an optional dependency of this module). Default none.
         */
        public Builder observationRegistry(io.micrometer.observation.ObservationRegistry registry) {
            Objects.requireNonNull(registry, "registry");
            ObservedRequests observed = new ObservedRequests(registry);
            interceptors.add(0, observed);
            return onWorker(observed.onWorker());
        }

        /** Wraps every task submitted to the handler pool (for context propagation). Internal use. */
        Builder onWorker(java.util.function.UnaryOperator<Runnable> wrap) {
            java.util.function.UnaryOperator<Runnable> before = onWorker;
            this.onWorker = task -> wrap.apply(before.apply(task));
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

        int maxConnectionsPerAddress() {
            return maxConnectionsPerAddress == 0 ? maxConnections : maxConnectionsPerAddress;
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
            b.ioThreads = ioThreads;
            b.maxConnectionsPerAddress = maxConnectionsPerAddress;
            b.outboundBufferBytes = outboundBufferBytes;
            b.writeStallTimeout = writeStallTimeout;
            b.maxInFlightRequestBytes = maxInFlightRequestBytes;
            b.frameTimeout = frameTimeout;
            b.keepAliveIdle = keepAliveIdle;
            b.keepAliveInterval = keepAliveInterval;
            b.keepAliveCount = keepAliveCount;
            b.mapper = mapper;
            b.listener = listener;
            b.authenticator = authenticator;
            b.tls = tls;
            b.requireClientAuth = requireClientAuth;
            b.checksum = checksum;
            b.routes.putAll(routes);
            b.interceptors.addAll(interceptors);
            b.metadataLimits = metadataLimits;
            b.onWorker = onWorker;
            return b;
        }
    }
}
