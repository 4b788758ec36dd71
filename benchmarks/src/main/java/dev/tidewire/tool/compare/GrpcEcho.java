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
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gRPC-java peer, without protoc: a unary {@code bench/Echo} method on {@code byte[]} with a
 * trivial marshaller, served by a Netty server on 127.0.0.1 (plaintext), called over one or more
 * channels picked round-robin per call.
 *
 * <p>{@code direct} puts both the server and the channels on {@code directExecutor()} (callbacks on
 * the Netty event loops: gRPC's fastest configuration for non-blocking handlers); otherwise both
 * use gRPC's default executor (a shared cached thread pool).
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

    private final Server server;
    private final ManagedChannel[] channels;
    private final AtomicInteger next = new AtomicInteger();
    private final Duration timeout;

    private GrpcEcho(Server server, ManagedChannel[] channels, Duration timeout) {
        this.server = server;
        this.channels = channels;
        this.timeout = timeout;
    }

    /** Starts the server on 127.0.0.1, a free port, and {@code channelCount} channels to it. */
    static GrpcEcho start(int channelCount, boolean direct, Duration timeout) {
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
        Server server;
        try {
            server = sb.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the gRPC server: " + e.getMessage(), e);
        }
        ManagedChannel[] channels = new ManagedChannel[channelCount];
        for (int i = 0; i < channelCount; i++) {
            NettyChannelBuilder cb = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
            if (direct) {
                cb.directExecutor();
            }
            channels[i] = cb.build();
        }
        return new GrpcEcho(server, channels, timeout);
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

    /** Shuts the channels, then the server, down: gracefully for up to 5 s each, then at once. */
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
}
