package dev.tidewire.server;

import dev.tidewire.protocol.ErrorCode;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.ReceiverContext;
import java.net.SocketAddress;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.UnaryOperator;

/**
 * The server's Micrometer Observation per request, the outermost {@link ServerInterceptor} when
 * {@link TidewireServer.Builder#observationRegistry} is set. A tracing handler reads the client's
 * context (W3C {@code traceparent}) from the request's metadata through {@link ReceiverContext}'s
 * getter and makes the observation a SERVER span, child of the client's.
 *
 * <p>The observation is in scope on the event loop while the handler (and inner interceptors)
 * run, and, through {@link #onWorker}, on the handler-pool thread that runs a
 * {@link BlockingHandler}: a Tidewire client called there continues the trace. It stops when the
 * reply is decided. Loaded only when a registry is set, so servers without Micrometer never need it.
 *
 * <p>Tags: low cardinality {@code op}, {@code outcome} ({@code success} or {@code error_<code>});
 * high cardinality {@code tidewire.request.id} and {@code peer} (the client's address).
 */
final class ObservedRequests implements ServerInterceptor {
    /** The observation's name. */
    static final String NAME = "tidewire.server.call";

    private final ObservationRegistry registry;
    private volatile Peer lastPeer; // the client address last seen, formatted; most requests share it with the one before

    ObservedRequests(ObservationRegistry registry) {
        this.registry = registry;
    }

    /** A client's address as the {@code peer} tag shows it ({@code String.valueOf}), formatted once per address. */
    private record Peer(SocketAddress address, String tag) {
    }

    private Peer peer(SocketAddress address) {
        Peer p = lastPeer;
        if (p == null || p.address != address) {
            p = new Peer(address, String.valueOf(address));
            lastPeer = p;
        }
        return p;
    }

    @Override
    public CompletionStage<byte[]> intercept(ServerRequest request, Handler next) throws Exception {
        ReceiverContext<ServerRequest> context = new ReceiverContext<>((r, key) -> r == null ? null : r.metadata().get(key),
                Kind.SERVER); // a request-reply call (the default, CONSUMER, is for messaging)
        context.setCarrier(request);
        Peer peer = peer(request.remoteAddress());
        // no setRemoteServiceAddress: tracing handlers parse it as a java.net.URI per span (see
        // ObservedCalls); the client's address is in the high-cardinality tag `peer`
        Observation observation = Observation.createNotStarted(NAME, () -> context, registry)
                .contextualName(request.op())
                .lowCardinalityKeyValue("op", request.op())
                .highCardinalityKeyValue("tidewire.request.id", Long.toString(request.requestId()))
                .highCardinalityKeyValue("peer", peer.tag)
                .start();
        CompletionStage<byte[]> stage;
        try (Observation.Scope scope = observation.openScope()) {
            stage = next.handle(request);
        } catch (Exception | Error e) {
            stop(observation, e);
            throw e;
        }
        if (stage == null) {
            stop(observation, new NullPointerException("handler returned no stage"));
            return null;
        }
        stage.whenComplete((value, error) -> stop(observation, error));
        return stage;
    }

    /** Runs a handler-pool task with the submitting thread's observation in scope. */
    UnaryOperator<Runnable> onWorker() {
        return task -> {
            Observation current = registry.getCurrentObservation();
            if (current == null) {
                return task;
            }
            return () -> {
                try (Observation.Scope scope = current.openScope()) {
                    task.run();
                }
            };
        };
    }

    private static void stop(Observation observation, Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        int code = e == null ? 0 : e instanceof HandlerException he ? he.code() : ErrorCode.INTERNAL;
        observation.lowCardinalityKeyValue("outcome", code == 0 ? "success" : "error_" + code);
        if (e != null) {
            observation.error(e);
        }
        observation.stop();
    }
}
