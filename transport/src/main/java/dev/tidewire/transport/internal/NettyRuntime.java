package dev.tidewire.transport.internal;

import dev.tidewire.transport.TlsConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import java.time.Duration;
import jdk.net.ExtendedSocketOptions;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.FastThreadLocalThread;
import javax.net.ssl.SSLException;

/**
 * The one place that decides which Netty transport and TLS engine Tidewire runs on, for the client
 * and the reference server alike: epoll where its native library loads (Linux), NIO elsewhere;
 * OpenSSL (BoringSSL, from {@code netty-tcnative-boringssl-static}) where it loads, the JDK's
 * {@code SSLEngine} otherwise. The system property {@code tidewire.transport=nio} forces NIO, and
 * {@code tidewire.tls=jdk} forces the JDK's engine (for comparisons and for platforms where a
 * native library misbehaves).
 */
public final class NettyRuntime {
    private static final boolean EPOLL = !"nio".equalsIgnoreCase(System.getProperty("tidewire.transport"))
            && Epoll.isAvailable();
    private static final boolean OPENSSL = !"jdk".equalsIgnoreCase(System.getProperty("tidewire.tls"))
            && OpenSsl.isAvailable();
    private static final java.util.concurrent.atomic.AtomicBoolean KEEPALIVE_UNTUNED_LOGGED =
            new java.util.concurrent.atomic.AtomicBoolean();

    private NettyRuntime() {
    }

    /** "epoll" or "nio": what {@link #newEventLoopGroup} runs on. */
    public static String transportName() {
        return EPOLL ? "epoll" : "nio";
    }

    /** "openssl" or "jdk": the engine of contexts built from key and trust stores. */
    public static String tlsEngineName() {
        return OPENSSL ? "openssl" : "jdk";
    }

    /**
     * An event-loop group of {@code threads} daemon threads named {@code namePrefix-<p>-<n>}
     * (Netty adds a pool number), each recognisable by {@link #onEventLoop()}.
     */
    public static EventLoopGroup newEventLoopGroup(int threads, String namePrefix) {
        IoHandlerFactory io = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new LoopThreadFactory(namePrefix), io);
    }

    /**
     * Whether the calling thread is an event loop of any Tidewire client or server, which must
     * never wait: not for a connection, a reply, a connect or a close.
     */
    public static boolean onEventLoop() {
        return Thread.currentThread() instanceof LoopThread;
    }

    /**
     * Runs {@code task} now, or, on an event loop, on a new daemon thread named {@code name}: for
     * work that may wait (a graceful close) asked for from a callback that runs on a loop.
     */
    public static void runOffLoop(String name, Runnable task) {
        if (!onEventLoop()) {
            task.run();
            return;
        }
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
    }

    /**
     * The {@link BlockingWait.Relay} of the event loop running this code, or null off the loops.
     * Confined to that loop.
     */
    static BlockingWait.Relay currentRelay() {
        return Thread.currentThread() instanceof LoopThread loop ? loop.relay : null;
    }

    /** The threads of Tidewire's event loops. */
    private static final class LoopThread extends FastThreadLocalThread {
        /** The callers this loop's current read completes (this thread only). */
        final BlockingWait.Relay relay = new BlockingWait.Relay();

        LoopThread(ThreadGroup group, Runnable task, String name) {
            super(group, task, name);
        }
    }

    private static final class LoopThreadFactory extends DefaultThreadFactory {
        LoopThreadFactory(String prefix) {
            super(prefix, true);
        }

        @Override
        protected Thread newThread(Runnable task, String name) {
            return new LoopThread(threadGroup, task, name);
        }
    }

    /** The client socket channel class matching {@link #newEventLoopGroup}. */
    public static Class<? extends SocketChannel> socketChannelClass() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The server socket channel class matching {@link #newEventLoopGroup}. */
    public static Class<? extends ServerSocketChannel> serverSocketChannelClass() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /**
     * TCP keepalive on one socket channel, client or server side: SO_KEEPALIVE with the idle time,
     * probe interval and probe count (whole seconds, TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT);
     * an idle time of zero turns keepalive off. Where the platform lacks the tuning options the OS
     * defaults apply (logged once, at DEBUG).
     */
    public static void keepAlive(SocketChannel ch, Duration idle, Duration interval, int count) {
        if (idle.isZero()) {
            ch.config().setKeepAlive(false);
            return;
        }
        ch.config().setKeepAlive(true);
        int idleSeconds = (int) idle.toSeconds();
        int intervalSeconds = (int) interval.toSeconds();
        try {
            if (ch instanceof EpollSocketChannel) {
                ch.config().setOption(EpollChannelOption.TCP_KEEPIDLE, idleSeconds);
                ch.config().setOption(EpollChannelOption.TCP_KEEPINTVL, intervalSeconds);
                ch.config().setOption(EpollChannelOption.TCP_KEEPCNT, count);
            } else {
                ch.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idleSeconds);
                ch.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds);
                ch.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), count);
            }
        } catch (RuntimeException | LinkageError e) {
            if (KEEPALIVE_UNTUNED_LOGGED.compareAndSet(false, true)) { // the same for every socket: once
                System.getLogger(NettyRuntime.class.getName()).log(System.Logger.Level.DEBUG,
                        "TCP keepalive tuning not supported here; the OS defaults apply", e);
            }
        }
    }

    /**
     * A client-side Netty context for {@code tls}: OpenSSL with the same key and trust stores when
     * the settings came from stores and OpenSSL loads; otherwise the settings' JDK context.
     */
    public static SslContext clientContext(TlsConfig tls) {
        if (OPENSSL && tls.builtFromStores()) {
            try {
                return SslContextBuilder.forClient()
                        .sslProvider(SslProvider.OPENSSL)
                        .keyManager(tls.keyManagerFactory())
                        .trustManager(tls.trustManagerFactory())
                        .endpointIdentificationAlgorithm("HTTPS")
                        .build();
            } catch (SSLException e) {
                throw new IllegalArgumentException("tls: cannot build an OpenSSL client context: " + e.getMessage(), e);
            }
        }
        return new JdkSslContext(tls.sslContext(), true, null, IdentityCipherSuiteFilter.INSTANCE, null,
                ClientAuth.NONE, null, false);
    }

    /** A server-side Netty context for {@code tls}; see {@link #clientContext}. */
    public static SslContext serverContext(TlsConfig tls, boolean requireClientAuth) {
        ClientAuth auth = requireClientAuth ? ClientAuth.REQUIRE : ClientAuth.NONE;
        if (OPENSSL && tls.builtFromStores() && tls.keyManagerFactory() != null) {
            try {
                return SslContextBuilder.forServer(tls.keyManagerFactory())
                        .sslProvider(SslProvider.OPENSSL)
                        .trustManager(tls.trustManagerFactory())
                        .clientAuth(auth)
                        .build();
            } catch (SSLException e) {
                throw new IllegalArgumentException("tls: cannot build an OpenSSL server context: " + e.getMessage(), e);
            }
        }
        return new JdkSslContext(tls.sslContext(), false, null, IdentityCipherSuiteFilter.INSTANCE, null,
                auth, null, false);
    }
}
