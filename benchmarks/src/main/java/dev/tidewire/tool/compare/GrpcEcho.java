package dev.tidewire.tool.compare;

import dev.tidewire.tool.load.AsyncTarget;
import dev.tidewire.tool.load.BlockingTarget;
import dev.tidewire.tool.load.Payloads;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.OpenSsl;
import io.grpc.netty.shaded.io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The gRPC-java peer, without protoc: a unary {@code bench/Echo} method on {@code byte[]} with a
 * trivial marshaller, served by a Netty server on 127.0.0.1 ({@link #startServer}, plaintext or
 * TLS), called over one or more channels picked round-robin per call ({@link #connect}).
 *
 * <p>{@code direct} puts the server or the channels on {@code directExecutor()} (callbacks on the
 * Netty event loops: gRPC's fastest configuration for non-blocking handlers); otherwise they use
 * gRPC's default executor (a shared cached thread pool).
 *
 * <p>TLS uses {@link GrpcSslContexts}, which picks grpc-netty-shaded's bundled BoringSSL
 * (netty-tcnative) when it loads and the JDK's provider otherwise; {@link #serverTls} and
 * {@link #clientTls} log which one was picked.
 */
final class GrpcEcho implements AutoCloseable {
    /** Passes the bytes through. */
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try (stream) {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("cannot read the message").withCause(e).asRuntimeException();
            }
        }
    };

    static final MethodDescriptor<byte[], byte[]> ECHO = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("bench", "Echo"))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    private final ManagedChannel[] channels;
    private final AtomicInteger next = new AtomicInteger();
    private final Duration timeout;

    private GrpcEcho(ManagedChannel[] channels, Duration timeout) {
        this.channels = channels;
        this.timeout = timeout;
    }

    /** Starts the echo server on 127.0.0.1 and a free port; {@code tls} null means plaintext. */
    static Server startServer(boolean direct, SslContext tls) {
        ServerServiceDefinition service = ServerServiceDefinition.builder("bench")
                .addMethod(ECHO, ServerCalls.asyncUnaryCall((byte[] request, StreamObserver<byte[]> reply) -> {
                    reply.onNext(request);
                    reply.onCompleted();
                }))
                .build();
        NettyServerBuilder sb = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service);
        if (direct) {
            sb.directExecutor();
        }
        if (tls != null) {
            sb.sslContext(tls);
        }
        try {
            return sb.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the gRPC server: " + e.getMessage(), e);
        }
    }

    /** Shuts a server down: gracefully for up to 5 s, then at once. */
    static void stop(Server server) {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
    }

    /**
     * A server TLS context presenting the key and chain of the PKCS12 {@code keyStore}'s first key
     * entry; logs the provider {@link GrpcSslContexts} picked.
     */
    static SslContext serverTls(Path keyStore, char[] password, Consumer<String> log) {
        try {
            KeyStore ks = Pkcs12.load(keyStore, password);
            String alias = Pkcs12.keyAlias(ks);
            PrivateKey key = (PrivateKey) ks.getKey(alias, password);
            X509Certificate[] chain = Arrays.stream(ks.getCertificateChain(alias))
                    .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
            SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forServer(key, chain)).build();
            log.accept("gRPC server TLS: " + provider(ctx));
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the gRPC server's TLS context: " + e.getMessage(), e);
        }
    }

    /** A client TLS context trusting the certificates of the PKCS12 {@code trustStore}; logs the provider. */
    static SslContext clientTls(Path trustStore, char[] password, Consumer<String> log) {
        try {
            X509Certificate[] cas = Pkcs12.certificates(Pkcs12.load(trustStore, password));
            SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forClient().trustManager(cas)).build();
            log.accept("gRPC client TLS: " + provider(ctx));
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the gRPC client's TLS context: " + e.getMessage(), e);
        }
    }

    /** Which TLS implementation a context uses: BoringSSL/OpenSSL through netty-tcnative, or the JDK's. */
    static String provider(SslContext ctx) {
        return ctx instanceof ReferenceCountedOpenSslContext
                ? "provider OPENSSL (" + OpenSsl.versionString() + ", " + ctx.getClass().getSimpleName() + ")"
                : "provider JDK (" + ctx.getClass().getSimpleName() + (OpenSsl.isAvailable() ? ""
                        : "; OpenSSL unavailable: " + OpenSsl.unavailabilityCause()) + ")";
    }

    /**
     * {@code channelCount} channels to the echo server on 127.0.0.1:{@code port}; {@code tls} null
     * means plaintext.
     */
    static GrpcEcho connect(int port, int channelCount, boolean direct, SslContext tls, Duration timeout) {
        ManagedChannel[] channels = new ManagedChannel[channelCount];
        for (int i = 0; i < channelCount; i++) {
            NettyChannelBuilder cb = NettyChannelBuilder.forAddress("127.0.0.1", port);
            if (tls != null) {
                cb.sslContext(tls);
            } else {
                cb.usePlaintext();
            }
            if (direct) {
                cb.directExecutor();
            }
            channels[i] = cb.build();
        }
        return new GrpcEcho(channels, timeout);
    }

    private ManagedChannel channel() {
        return channels.length == 1 ? channels[0] : channels[Math.floorMod(next.getAndIncrement(), channels.length)];
    }

    private CallOptions options() {
        return CallOptions.DEFAULT.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** {@code ClientCalls.blockingUnaryCall} from C caller threads. */
    BlockingTarget blocking(int callers, int payloadBytes) {
        byte[][] payloads = payloads(callers, payloadBytes);
        return (caller, seq) -> {
            byte[] reply = ClientCalls.blockingUnaryCall(channel(), ECHO, options(), payloads[caller]);
            if (!Arrays.equals(reply, payloads[caller])) {
                throw new ExclusivePool.MismatchedReply("gRPC echo reply differs from the request");
            }
        };
    }

    /** {@code ClientCalls.asyncUnaryCall}: the observer's completion ends the call. */
    AsyncTarget async(int slots, int payloadBytes) {
        byte[][] payloads = payloads(slots, payloadBytes);
        return (slot, seq, done) -> {
            byte[] payload = payloads[slot];
            ClientCalls.asyncUnaryCall(channel().newCall(ECHO, options()), payload, new StreamObserver<byte[]>() {
                private byte[] reply;

                @Override
                public void onNext(byte[] value) {
                    reply = value;
                }

                @Override
                public void onError(Throwable t) {
                    done.complete(t);
                }

                @Override
                public void onCompleted() {
                    done.complete(Arrays.equals(reply, payload) ? null
                            : new ExclusivePool.MismatchedReply("gRPC echo reply differs from the request"));
                }
            });
        };
    }

    private static byte[][] payloads(int n, int payloadBytes) {
        byte[][] p = new byte[n][];
        for (int i = 0; i < n; i++) {
            p[i] = Payloads.bytes(i, payloadBytes);
        }
        return p;
    }

    /** Shuts the channels down: gracefully for up to 5 s each, then at once. */
    @Override
    public void close() {
        for (ManagedChannel c : channels) {
            c.shutdown();
        }
        for (ManagedChannel c : channels) {
            try {
                if (!c.awaitTermination(5, TimeUnit.SECONDS)) {
                    c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                c.shutdownNow();
            }
        }
    }
}
