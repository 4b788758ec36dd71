package dev.tidewire.client.internal;

import dev.tidewire.Metadata;
import dev.tidewire.client.ClientInterceptor;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.SenderContext;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;

/**
 * The client's Micrometer Observation per call: the outermost interceptor when an
 * {@code ObservationRegistry} is configured. The observation is a child of the caller's current
 * one; a tracing handler makes it a CLIENT span and injects its context (W3C {@code traceparent},
 * {@code tracestate}) into the call's metadata through {@link SenderContext}'s setter.
 *
 * <p>Tags: low cardinality {@code op}, {@code outcome} (the request timer's outcome tags); high
 * cardinality {@code peer} (the server's host:port). The observation stops when the reply or
 * failure arrives, on the event loop that delivers it.
 *
 * <p>Every use of Micrometer's Observation API by the client is in this class, which is loaded
 * only when a registry is given, so a client without one runs with no Micrometer jar at all.
 */
public final class ObservedCalls implements ClientInterceptor {
    /** The observation's name. */
    public static final String NAME = "tidewire.client.call";

    private final ObservationRegistry registry;
    private final String peer;

    /**
     * Observes calls in {@code registry}.
     *
     * @param peer the server's {@code host:port} (or the client's target), the {@code peer} tag
     */
    public ObservedCalls(ObservationRegistry registry, String peer) {
        this.registry = registry;
        this.peer = peer;
    }

    /** The carrier of the propagated context: the call's metadata, growing as the propagator writes. */
    static final class Carrier {
        Metadata metadata;

        Carrier(Metadata metadata) {
            this.metadata = metadata;
        }

        void put(String key, String value) {
            String k = key.toLowerCase(Locale.ROOT);
            if (Metadata.isValidKey(k) && !k.startsWith("tw-") && !k.endsWith(Metadata.BINARY_SUFFIX)) {
                metadata = metadata.without(k).with(k, value);
            }
        }
    }

    /**
     * The calling thread's current observation, captured now, as a wrapper that runs a task with
     * that observation in scope (for the callbacks of an async call); null when none is current.
     */
    public UnaryOperator<Runnable> callerScope() {
        Observation caller = registry.getCurrentObservation();
        if (caller == null) {
            return null;
        }
        return task -> () -> {
            try (Observation.Scope scope = caller.openScope()) {
                task.run();
            }
        };
    }

    @Override
    public CompletableFuture<byte[]> intercept(Chain chain) {
        Carrier carrier = new Carrier(chain.metadata());
        SenderContext<Carrier> context = new SenderContext<>((c, key, value) -> {
            if (c != null) {
                c.put(key, value);
            }
        }, Kind.CLIENT); // a request-reply call (the default, PRODUCER, is for messaging)
        context.setCarrier(carrier);
        // no setRemoteServiceAddress: Micrometer Tracing's handlers parse it as a java.net.URI on
        // every span (a bare host:port fails, and they log a warning per call; a URI form costs
        // ~14 % of the CPU of a traced echo call, docs/benchmarks.md section 13); the peer is in
        // the high-cardinality tag `peer` instead
        Observation observation = Observation.createNotStarted(NAME, () -> context, registry)
                .contextualName(chain.op())
                .lowCardinalityKeyValue("op", chain.op())
                .highCardinalityKeyValue("peer", peer)
                .start();
        CompletableFuture<byte[]> reply;
        try (Observation.Scope scope = observation.openScope()) {
            reply = chain.proceed(carrier.metadata);
        } catch (RuntimeException | Error e) {
            stop(observation, e);
            throw e;
        }
        return reply.whenComplete((value, error) -> stop(observation, error));
    }

    private static void stop(Observation observation, Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        observation.lowCardinalityKeyValue("outcome", Outcome.of(e).tag());
        if (e != null) {
            observation.error(e);
        }
        observation.stop();
    }
}
