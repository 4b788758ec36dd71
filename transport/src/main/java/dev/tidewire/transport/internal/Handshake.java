package dev.tidewire.transport.internal;

import dev.tidewire.AuthenticationException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.ProtocolException;
import dev.tidewire.TidewireException;
import dev.tidewire.TlsException;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.protocol.ErrorPayload;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameDecoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Hello;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TransportResources;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Opening a connection: TCP connect, the TLS handshake when configured (with host name
 * verification), and the HELLO exchange, all within {@link ConnectionOptions#connectTimeout()},
 * all on the event loop the channel is bound to. The opening thread only waits for the outcome,
 * at most until the connect deadline (plus 500 ms of slack for a late loop; the loop itself
 * enforces the deadline).
 *
 * <p>The {@link MultiplexedConnection} is created on the loop the moment the server's HELLO is
 * decoded, so frames that follow HELLO in the same read, and every later read, go to it with the
 * same decoder: nothing is read before the connection exists, and nothing is lost in between.
 */
final class Handshake extends ChannelInboundHandlerAdapter {
    private static final String AGENT = "tidewire-java/0.1";

    private final InetSocketAddress address;
    private final ConnectionOptions options;
    private final TransportResources resources;
    private final boolean ownsResources;
    private final CompletableFuture<MultiplexedConnection> result;
    private final FrameDecoder decoder =
            new FrameDecoder(Math.min(Protocol.HANDSHAKE_MAX_FRAME_SIZE, Protocol.DEFAULT_MAX_FRAME_SIZE));
    private MultiplexedConnection connection; // set on the loop when HELLO arrives

    private Handshake(InetSocketAddress address, ConnectionOptions options, TransportResources resources,
            boolean ownsResources, CompletableFuture<MultiplexedConnection> result) {
        this.address = address;
        this.options = options;
        this.resources = resources;
        this.ownsResources = ownsResources;
        this.result = result;
        this.decoder.maxFrameSize(Math.min(options.maxFrameSize(), Protocol.HANDSHAKE_MAX_FRAME_SIZE));
    }

    /**
     * Connects and waits for the handshake, at most until the connect deadline.
     *
     * @throws IllegalStateException if called on a Tidewire event loop, which must never wait for a peer
     */
    static MultiplexedConnection open(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources, boolean ownsResources) {
        Objects.requireNonNull(address, "address");
        if (NettyRuntime.onEventLoop()) {
            throw new IllegalStateException("a connection cannot be opened on a Tidewire event loop, which must never"
                    + " wait for a peer; open it from another thread");
        }
        CompletableFuture<MultiplexedConnection> result = connect(address, options, resources, ownsResources);
        Throwable cause;
        try {
            // the loop enforces the connect timeout; the slack only covers a loop that is late
            return result.get(options.connectTimeout().toNanos() + TimeUnit.MILLISECONDS.toNanos(500),
                    TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cause = new ConnectFailedException("interrupted while connecting to " + address, e);
        } catch (TimeoutException e) {
            cause = timedOut(address, options);
        } catch (ExecutionException e) {
            cause = e.getCause();
        }
        if (!result.completeExceptionally(cause) && !result.isCompletedExceptionally()) {
            return result.join(); // the handshake finished just as the wait gave up
        }
        if (cause instanceof TidewireException t) {
            throw t;
        }
        throw new ConnectFailedException("cannot connect to " + address + ": " + cause, cause);
    }

    /**
     * Starts a connect and returns at once; the future completes on the event loop once HELLO has
     * been exchanged, or fails within {@link ConnectionOptions#connectTimeout()} with the typed
     * error {@link #open} would throw. Any thread may call it, event loops included. Completing the
     * future from outside (the opener gave up) closes the channel, and a connection the handshake
     * makes after that is closed at once: nothing is left open behind a future nobody holds.
     */
    static CompletableFuture<MultiplexedConnection> connect(InetSocketAddress address, ConnectionOptions options,
            TransportResources resources, boolean ownsResources) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(resources, "resources");
        if (address.isUnresolved()) {
            return CompletableFuture.failedFuture(
                    new ConnectFailedException("cannot resolve host " + address.getHostString(), null));
        }
        if (resources.isClosed()) {
            return CompletableFuture.failedFuture(new ConnectFailedException("cannot connect to " + address
                    + ": the transport resources are closed", null));
        }
        Deadline deadline = Deadline.after(options.connectTimeout());
        CompletableFuture<MultiplexedConnection> result = new CompletableFuture<>();
        SslContext ssl;
        try {
            ssl = options.tls() == null ? null : NettyRuntime.clientContext(options.tls());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        Bootstrap bootstrap = new Bootstrap()
                .group(resources.eventLoops())
                .channel(NettyRuntime.socketChannelClass())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, millisLeft(deadline))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(options.outboundBudget() / 2, options.outboundBudget()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        NettyRuntime.keepAlive((io.netty.channel.socket.SocketChannel) ch, options.keepAliveIdle(),
                                options.keepAliveInterval(), options.keepAliveCount());
                        if (ssl != null) {
                            ch.pipeline().addLast("tls", tlsHandler(ssl, ch, address, deadline));
                        }
                        ch.pipeline().addLast("handshake",
                                new Handshake(address, options, resources, ownsResources, result));
                    }
                });
        ChannelFuture connect;
        try {
            connect = bootstrap.connect(address);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(
                    new ConnectFailedException("cannot connect to " + address + ": " + e.getMessage(), e));
        }
        Channel channel = connect.channel();
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(connectFailure(address, options, f.cause()));
            }
        });
        // after the current task: an error the close came with (a TLS alert) is reported first
        channel.closeFuture().addListener(f -> {
            Runnable closed = () -> result.completeExceptionally(new ConnectFailedException("server " + address
                    + " closed the connection during the handshake", null));
            try {
                channel.eventLoop().execute(closed);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                closed.run();
            }
        });
        try {
            channel.eventLoop().schedule(() -> {
                result.completeExceptionally(timedOut(address, options));
            }, Math.max(1, deadline.remainingNanos()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            result.completeExceptionally(new ConnectFailedException("cannot connect to " + address
                    + ": the transport resources are closing", e));
        }
        // whoever ends the attempt without a connection (timeout, failure, the opener giving up)
        result.whenComplete((c, e) -> {
            if (e != null) {
                channel.close();
            }
        });
        return result;
    }

    private static SslHandler tlsHandler(SslContext ssl, Channel ch, InetSocketAddress address, Deadline deadline) {
        SslHandler handler = ssl.newHandler(ch.alloc(), address.getHostString(), address.getPort());
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(params);
        handler.setHandshakeTimeoutMillis(millisLeft(deadline));
        // a close never waits long for a peer that does not read: close_notify gets 200 ms
        handler.setCloseNotifyFlushTimeoutMillis(200);
        handler.setCloseNotifyReadTimeoutMillis(0);
        return handler;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (ctx.pipeline().get(SslHandler.class) == null) {
            sendHello(ctx);
        }
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            if (done.isSuccess()) {
                sendHello(ctx);
            } else {
                result.completeExceptionally(tlsFailure(address, done.cause()));
                ctx.close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    private void sendHello(ChannelHandlerContext ctx) {
        Hello hello = new Hello(Protocol.VERSION, options.maxFrameSize(), 0, AGENT, options.credentials(),
                options.checksumOffered());
        ctx.writeAndFlush(Frames.encode(ctx.alloc(), new Frame(FrameType.HELLO, 0, hello.encode())));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        try {
            for (ByteBuffer b : buf.nioBuffers()) {
                decoder.decode(b, f -> onFrame(ctx, f));
            }
        } catch (RuntimeException e) {
            if (connection != null) {
                connection.readFailed(e);
            } else {
                fail(ctx, e instanceof ProtocolException p
                        ? new ConnectFailedException("handshake with " + address + " failed: " + p.getMessage(), p)
                        : e);
            }
        } finally {
            buf.release();
        }
        if (connection != null && ctx.pipeline().context(this) != null) {
            ctx.pipeline().replace(this, "tidewire", connection.inbound());
            connection.afterRead();
        }
    }

    private void onFrame(ChannelHandlerContext ctx, Frame f) {
        if (connection != null) {
            connection.onFrame(f); // a frame that followed HELLO in the same read
            return;
        }
        if (result.isDone()) {
            return; // timed out meanwhile: the channel is closing
        }
        if (f.type() == FrameType.HELLO) {
            Hello hello = Hello.decode(f.payload());
            if (hello.version() != Protocol.VERSION) {
                throw new ProtocolException("server answered HELLO with version " + hello.version());
            }
            decoder.maxFrameSize(options.maxFrameSize());
            // both offered it: every frame after the server's HELLO carries a CRC32C trailer
            decoder.checksum(options.checksumOffered() && hello.checksum());
            MultiplexedConnection c = new MultiplexedConnection(address, options, resources, ownsResources,
                    ctx.channel(), decoder, hello);
            if (!result.complete(c)) {
                c.close(); // the opener gave up meanwhile
                return;
            }
            connection = c;
            return;
        }
        if (f.type() == FrameType.ERROR) {
            ErrorPayload err = ErrorPayload.decode(f.payload());
            if (err.code() == ErrorCode.UNAUTHENTICATED) {
                fail(ctx, new AuthenticationException("server " + address + " refused the credentials: "
                        + ErrorCode.describe(err.code()) + ": " + err.message(), null));
            } else {
                fail(ctx, new ConnectFailedException("server " + address + " refused the connection: "
                        + ErrorCode.describe(err.code()) + ": " + err.message(), null));
            }
            return;
        }
        throw new ProtocolException("expected HELLO from the server, got " + f.type());
    }

    private void fail(ChannelHandlerContext ctx, RuntimeException e) {
        result.completeExceptionally(e);
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause.getCause() instanceof SSLException ? cause.getCause() : cause;
        fail(ctx, root instanceof SSLException ? tlsFailure(address, root)
                : new ConnectFailedException("cannot connect to " + address + ": " + cause.getMessage(), cause));
    }

    private static RuntimeException connectFailure(InetSocketAddress address, ConnectionOptions options, Throwable e) {
        if (e instanceof ConnectTimeoutException) {
            return timedOut(address, options);
        }
        return new ConnectFailedException("cannot connect to " + address + ": " + e.getMessage(), e);
    }

    private static ConnectFailedException timedOut(InetSocketAddress address, ConnectionOptions options) {
        return new ConnectFailedException("connecting to " + address + " timed out after "
                + options.connectTimeout().toMillis() + " ms (connect and HELLO)", null);
    }

    /**
     * A failed TLS handshake: a certificate problem is a {@link TlsException} (not retryable); the
     * server closing or resetting the connection mid-handshake (e.g. at its connection limit) is
     * as retryable as any failed connect.
     */
    static RuntimeException tlsFailure(InetSocketAddress address, Throwable e) {
        if (e instanceof ClosedChannelException || (e instanceof SSLException && e.getMessage() != null
                && (e.getMessage().contains("closed") || e.getMessage().contains("reset")))
                || e instanceof java.io.IOException && !(e instanceof SSLException)) {
            return new ConnectFailedException("server " + address + " closed the connection during the TLS"
                    + " handshake: " + e.getMessage(), e);
        }
        if (e instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
            return new ConnectFailedException("TLS handshake with " + address + " timed out: " + e.getMessage(), e);
        }
        return new TlsException("TLS handshake with " + address + " failed: " + describe(e), e);
    }

    /** The message of {@code e} and of each distinct cause: OpenSSL's own message is often generic. */
    static String describe(Throwable e) {
        StringBuilder out = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable cause = e.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            String m = cause.getMessage();
            if (m != null && out.indexOf(m) < 0) {
                out.append(" (").append(m).append(')');
            }
        }
        return out.toString();
    }

    static int millisLeft(Deadline deadline) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadline.remainingNanos());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
    }
}
