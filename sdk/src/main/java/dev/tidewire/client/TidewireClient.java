package dev.tidewire.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.ClientClosedException;
import dev.tidewire.Metadata;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.ResponseDecodingException;
import dev.tidewire.TidewireException;
import dev.tidewire.TooManyPendingCallsException;
import dev.tidewire.client.internal.ClientCall;
import dev.tidewire.client.internal.ClientMetrics;
import dev.tidewire.client.internal.InterceptedCall;
import dev.tidewire.client.internal.ObservedCalls;
import dev.tidewire.client.internal.Outcome;
import dev.tidewire.pool.ConnectionPool;
import dev.tidewire.pool.DnsEndpointResolver;
import dev.tidewire.pool.Endpoint;
import dev.tidewire.pool.EndpointResolver;
import dev.tidewire.pool.EndpointStats;
import dev.tidewire.pool.Fleet;
import dev.tidewire.pool.FleetListener;
import dev.tidewire.pool.FleetOptions;
import dev.tidewire.pool.PoolListener;
import dev.tidewire.pool.PoolOptions;
import dev.tidewire.pool.PoolStats;
import dev.tidewire.protocol.JsonLimits;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.server.ServerRequest;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.TlsConfig;
import dev.tidewire.transport.TransportResources;
import dev.tidewire.transport.internal.BlockingWait;
import dev.tidewire.transport.internal.Completions;
import dev.tidewire.transport.internal.NettyRuntime;
import dev.tidewire.transport.internal.RuntimeRequirements;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The Tidewire client: calls a Tidewire server over a pool of multiplexed TCP connections,
 * mapping requests and replies to and from JSON with Jackson.
 *
 * <pre>{@code
 * try (TidewireClient client = TidewireClient.builder()
 *         .address("127.0.0.1:7000")
 *         .maxConnections(4)
 *         .requestTimeout(Duration.ofSeconds(2))
 *         .build()) {
 *     Message reply = client.call("echo", new Message("pixel-1", "pixelpig!"), Message.class);
 *     CompletableFuture<Message> later = client.callAsync("echo", request, Message.class);
 * }
 * }</pre>
 *
 * <p>Given a {@link Builder#target(String) target} of many servers (a list, DNS A/AAAA or SRV
 * records, or an {@link EndpointResolver} of your own) instead of one address, the client keeps a
 * pool per endpoint, sends each call to the least-loaded healthy one, ejects endpoints that fail
 * and retries what was not processed on another ({@code docs/fleet.md}).
 *
 * <p>Share one client per server (or fleet) across the application: it is thread-safe and its
 * connections carry many calls each. Every call ends with exactly one outcome: its result, or one
 * {@link TidewireException} subclass (see {@code docs/failure-semantics.md}); none waits past its
 * timeout. At most {@link ClientOptions#maxPendingCalls()} calls are pending at once; beyond it a
 * call is refused at once ({@link TooManyPendingCallsException}).
 *
 * <p>Besides the typed calls: {@link #callRaw} sends JSON the application already holds as bytes
 * and returns the reply unparsed, and {@link #batch} lets one thread send many calls in one socket
 * write per connection.
 *
 * <p>Threads: the event loops that do the client's socket I/O and timers never run application
 * code (unless a direct {@code callbackExecutor} is chosen). {@code callAsync} futures complete
 * on {@link ClientOptions#callbackExecutor()} (by default the client's own small pool); blocking
 * {@code call}s wake the caller directly, and work from virtual threads too. A caller never writes
 * to a socket and never connects: connections open in the background, one attempt at a time with
 * the full connect timeout, and reopen after an outage without waiting for a call. {@code callAsync}
 * returns at once even while the first connection is being made; a blocking {@code call} waits
 * for it, at most until its deadline.
 *
 * <p>{@link #close()} is graceful and idempotent: new calls are refused, calls in flight get up to
 * {@link ClientOptions#closeGracePeriod()} to finish, then connections and threads are released.
 * {@link #shutdownNow()} fails calls in flight at once.
 */
public final class TidewireClient implements AutoCloseable {
    private static final byte[] JSON_NULL = "null".getBytes(StandardCharsets.UTF_8);

    private final ClientOptions options;
    private final ObjectMapper mapper;
    private final TransportResources resources;
    private final boolean ownsResources;
    private final Executor callbackExecutor;
    private final Fleet pool; // one endpoint's pool, or a fleet's
    private final ClientMetrics metrics;
    private final long defaultTimeoutNanos;
    private final int maxPendingCalls;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    // null: no observations. Micrometer types stay inside ObservedCalls and ClientMetrics, which
    // are loaded only when a registry is given: Micrometer is an optional dependency
    private final ObservedCalls observed;
    private final ClientInterceptor[] interceptors;        // null: none (calls go straight to the pool)
    private final InterceptedCall.Sender sender;

    private TidewireClient(ClientOptions options) {
        this.options = options;
        this.mapper = options.objectMapper();
        this.defaultTimeoutNanos = Deadline.saturatedNanos(options.requestTimeout());
        this.maxPendingCalls = options.maxPendingCalls();
        this.ownsResources = options.transportResources() == null;
        this.resources = ownsResources
                ? TransportResources.builder().timerTick(options.timerTick()).callbackThreads(options.callbackThreads())
                        .ioThreads(options.ioThreads()).build()
                : options.transportResources();
        this.callbackExecutor = options.callbackExecutor() != null ? options.callbackExecutor()
                : resources.callbackExecutor();
        String address = options.target();
        this.metrics = options.meterRegistry() == null ? null
                : new ClientMetrics(options.meterRegistry(), options.name(), address, options.metricsHistogram(),
                        options.metricsServiceLevelObjectives());
        try {
            this.pool = Fleet.create(options.resolver().get(), options.fleet(), options.pool(), options.connection(),
                    resources, metrics == null ? PoolListener.NONE : metrics,
                    metrics == null ? FleetListener.NONE : metrics);
        } catch (RuntimeException e) {
            if (ownsResources) {
                resources.close();
            }
            throw e;
        }
        if (metrics != null) {
            metrics.bind(pool, inFlight);
        }
        this.observed = options.observationRegistry() == null ? null
                : new ObservedCalls(options.observationRegistry(), address);
        List<ClientInterceptor> chain = new ArrayList<>();
        if (observed != null) {
            chain.add(observed);
        }
        chain.addAll(options.interceptors());
        this.interceptors = chain.isEmpty() ? null : chain.toArray(new ClientInterceptor[0]);
        this.sender = (o, b, md, d) -> pool.call(o, b, md, d, false, null, null);
    }

    /**
     * A builder; {@link Builder#address(String)} (one server) or {@link Builder#target(String)}
     * (a fleet) is required, everything else has a default.
     *
     * @throws IllegalStateException if the Netty on the class path is older than 4.2, or Jackson
     *                               older than 2.15 (the message names what was found; see
     *                               {@code docs/configuration.md}, "Dependencies and compatibility")
     */
    public static Builder builder() {
        RuntimeRequirements.check();
        return new Builder();
    }

    // ------------------------------------------------------------------ blocking calls

    /**
     * Calls {@code op} with {@code request} encoded as JSON and decodes the reply as {@code type},
     * waiting at most {@link ClientOptions#requestTimeout()}. For a generic reply type
     * ({@code List<Item>}) give a {@link TypeReference} or a {@link JavaType} instead
     * ({@link #call(String, Object, TypeReference)}, {@link #call(String, Object, JavaType)}); all
     * of them decode the same way.
     *
     * @param <T>     the reply type
     * @param op      the op name (1..255 UTF-8 bytes)
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type; {@code Void.class} ignores the reply, {@code JsonNode.class} keeps it raw
     * @return the decoded reply; {@code null} for an empty reply or {@code Void}
     * @throws NullPointerException if {@code type} is null
     * @throws TidewireException  how the call failed (see the subclasses; {@link ResponseDecodingException}
     *                            if the reply does not decode as {@code type})
     * @throws IllegalArgumentException if the op name is invalid or the request cannot be encoded
     * @throws CancellationException    if the calling thread was interrupted (the call is cancelled
     *                                  and the interrupt flag stays set)
     * @throws IllegalStateException    if called on one of the client's event loops (from a callback
     *                                  run by a direct {@code callbackExecutor})
     */
    public <T> T call(String op, Object request, Class<T> type) {
        return call(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #call(String, Object, Class)} with per-call options (e.g. a different timeout).
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply
     */
    public <T> T call(String op, Object request, Class<T> type, CallOptions callOptions) {
        return call(op, request, javaType(type), callOptions);
    }

    /**
     * {@link #call(String, Object, Class)} for a generic reply type, which a {@code Class} cannot
     * name: {@code client.call("list", query, new TypeReference<List<Item>>() {})}.
     *
     * @param <T>     the reply type
     * @param op      the op name
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type, with its type arguments
     * @return the decoded reply
     * @throws NullPointerException      if {@code type} is null
     * @throws ResponseDecodingException if the reply does not decode as {@code type}
     */
    public <T> T call(String op, Object request, TypeReference<T> type) {
        return call(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #call(String, Object, TypeReference)} with per-call options.
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type, with its type arguments
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply
     */
    public <T> T call(String op, Object request, TypeReference<T> type, CallOptions callOptions) {
        return call(op, request, javaType(type), callOptions);
    }

    /**
     * {@link #call(String, Object, Class)} for a reply type built with Jackson's
     * {@link com.fasterxml.jackson.databind.type.TypeFactory} (for example from a type known only
     * at run time): {@code mapper.getTypeFactory().constructCollectionType(List.class, Item.class)}.
     * The type is used as it is; the caller chooses {@code T} to match it.
     *
     * @param <T>     the reply type
     * @param op      the op name
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type
     * @return the decoded reply
     * @throws NullPointerException      if {@code type} is null
     * @throws ResponseDecodingException if the reply does not decode as {@code type}
     */
    public <T> T call(String op, Object request, JavaType type) {
        return call(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #call(String, Object, JavaType)} with per-call options.
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply
     */
    public <T> T call(String op, Object request, JavaType type, CallOptions callOptions) {
        Objects.requireNonNull(type, "type");
        long start = System.nanoTime();
        Deadline deadline = deadline(start, callOptions);
        return blockingCall(op, encode(op, request), callOptions, start, deadline, reply -> decode(op, reply, type));
    }

    /** Calls {@code op} with a JSON tree and returns the reply as a tree. */
    public JsonNode callJson(String op, JsonNode request) {
        return call(op, request, JsonNode.class);
    }

    /**
     * Calls {@code op} with a body that is already JSON and returns the reply's JSON unparsed: for
     * applications that hold JSON as bytes (a pass-through, their own serializer), with no Jackson
     * on either side. The bytes must be UTF-8 JSON text (not checked: the server's handler sees
     * them untouched, and the reference server answers {@code BAD_REQUEST} if it cannot parse what
     * it needs); an empty array sends JSON {@code null}, and an empty reply means {@code null}.
     * The array is copied, so the caller may reuse it at once. Errors as for
     * {@link #call(String, Object, Class)}.
     */
    public byte[] callRaw(String op, byte[] jsonBody) {
        return callRaw(op, jsonBody, CallOptions.DEFAULT);
    }

    /** {@link #callRaw(String, byte[])} with per-call options. */
    public byte[] callRaw(String op, byte[] jsonBody, CallOptions callOptions) {
        long start = System.nanoTime();
        Deadline deadline = deadline(start, callOptions);
        return blockingCall(op, rawBody(op, jsonBody), callOptions, start, deadline, reply -> reply);
    }

    private <T> T blockingCall(String op, byte[] body, CallOptions callOptions, long start, Deadline deadline,
            Function<byte[], T> decoder) {
        if (NettyRuntime.onEventLoop()) {
            // its reply would have to be read by this very thread (or by a loop it stalls)
            throw new IllegalStateException("op '" + op + "': a blocking call cannot be made on a Tidewire event loop"
                    + " (a callback run by a direct callbackExecutor); use callAsync there");
        }
        try {
            enter(op);
        } catch (ClientClosedException | TooManyPendingCallsException e) {
            record(op, e, start);
            throw e;
        }
        Throwable failure = null;
        try {
            return decoder.apply(await(op, send(op, body, callOptions, deadline, start), deadline));
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        } finally {
            exit(op, failure, start);
        }
    }

    // ------------------------------------------------------------------ async calls

    /**
     * Like {@link #call(String, Object, Class)} without blocking for the reply: the future
     * completes on the callback executor with the decoded reply or a {@link TidewireException}.
     * Cancelling the future cancels the call and sends CANCEL to the server.
     *
     * @param <T>     the reply type
     * @param op      the op name
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type
     * @return the decoded reply, later
     * @throws NullPointerException if {@code type} is null
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, Class<T> type) {
        return callAsync(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #callAsync(String, Object, Class)} with per-call options.
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply, later
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, Class<T> type, CallOptions callOptions) {
        return callAsync(op, request, javaType(type), callOptions);
    }

    /**
     * The async form of {@link #call(String, Object, TypeReference)}: the future completes on the
     * callback executor with the decoded reply or a {@link TidewireException}
     * ({@link ResponseDecodingException} if the reply does not decode as {@code type}).
     *
     * @param <T>     the reply type
     * @param op      the op name
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type, with its type arguments
     * @return the decoded reply, later
     * @throws NullPointerException if {@code type} is null
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, TypeReference<T> type) {
        return callAsync(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #callAsync(String, Object, TypeReference)} with per-call options.
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type, with its type arguments
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply, later
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, TypeReference<T> type,
            CallOptions callOptions) {
        return callAsync(op, request, javaType(type), callOptions);
    }

    /**
     * The async form of {@link #call(String, Object, JavaType)}: the future completes on the
     * callback executor with the decoded reply or a {@link TidewireException}
     * ({@link ResponseDecodingException} if the reply does not decode as {@code type}).
     *
     * @param <T>     the reply type
     * @param op      the op name
     * @param request any value Jackson can encode; {@code null} sends JSON null
     * @param type    the reply type
     * @return the decoded reply, later
     * @throws NullPointerException if {@code type} is null
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, JavaType type) {
        return callAsync(op, request, type, CallOptions.DEFAULT);
    }

    /**
     * {@link #callAsync(String, Object, JavaType)} with per-call options.
     *
     * @param <T>         the reply type
     * @param op          the op name
     * @param request     any value Jackson can encode; {@code null} sends JSON null
     * @param type        the reply type
     * @param callOptions the call's options (timeout, metadata, idempotence)
     * @return the decoded reply, later
     */
    public <T> CompletableFuture<T> callAsync(String op, Object request, JavaType type, CallOptions callOptions) {
        Objects.requireNonNull(type, "type");
        long start = System.nanoTime();
        Deadline deadline = deadline(start, callOptions);
        return asyncCall(op, encode(op, request), callOptions, start, deadline, reply -> decode(op, reply, type));
    }

    /** The async form of {@link #callJson(String, JsonNode)}. */
    public CompletableFuture<JsonNode> callJsonAsync(String op, JsonNode request) {
        return callAsync(op, request, JsonNode.class);
    }

    /** The async form of {@link #callRaw(String, byte[])}: the future completes on the callback executor. */
    public CompletableFuture<byte[]> callRawAsync(String op, byte[] jsonBody) {
        return callRawAsync(op, jsonBody, CallOptions.DEFAULT);
    }

    /** {@link #callRawAsync(String, byte[])} with per-call options. */
    public CompletableFuture<byte[]> callRawAsync(String op, byte[] jsonBody, CallOptions callOptions) {
        long start = System.nanoTime();
        Deadline deadline = deadline(start, callOptions);
        return asyncCall(op, rawBody(op, jsonBody), callOptions, start, deadline, reply -> reply);
    }

    private <T> CompletableFuture<T> asyncCall(String op, byte[] body, CallOptions callOptions, long start, Deadline deadline,
            Function<byte[], T> decoder) {
        try {
            enter(op);
        } catch (ClientClosedException | TooManyPendingCallsException e) {
            record(op, e, start);
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<byte[]> raw;
        try {
            raw = send(op, body, callOptions, deadline, start);
        } catch (RuntimeException e) { // an invalid op name
            exit(op, e, start);
            throw e;
        }
        ClientCall<T> result = new ClientCall<>(raw);
        // the caller's observation, restored around the callbacks that completing `result` runs
        UnaryOperator<Runnable> inCallerScope = observed == null ? null : observed.callerScope();
        // raw completes on a transport thread; one hop to the callback executor, where decoding runs
        raw.whenComplete((reply, error) -> {
            Runnable completion = () -> {
                T value = null;
                Throwable failure = unwrap(error);
                if (failure == null) {
                    try {
                        value = decoder.apply(reply);
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                }
                exit(op, failure, start);
                if (failure == null) {
                    result.complete(value);
                } else {
                    result.completeExceptionally(failure);
                }
            };
            Runnable finish = inCallerScope == null ? completion : inCallerScope.apply(completion);
            try {
                callbackExecutor.execute(finish);
            } catch (RejectedExecutionException e) {
                // never run the application's callbacks on the transport thread completing `raw`
                RejectedExecutionException rejected = new RejectedExecutionException("the callback executor rejected"
                        + " the completion of op '" + op + "'" + (error == null ? " (it had succeeded)" : ""),
                        unwrap(error));
                rejected.addSuppressed(e);
                Completions.complete(result, null, rejected, resources.callbackExecutor(), null, "op '" + op + "'");
                exit(op, rejected, start);
            }
        });
        return result;
    }

    /**
     * Runs {@code calls} with the socket writes of the requests they make batched: each
     * {@code callAsync} / {@code callRawAsync} made inside on this thread is queued, and every
     * connection used is written to once when {@code calls} returns (or throws), instead of once
     * per call. For an application thread that sends many calls in a row (a fan-out, a bulk
     * load); calls made from reply callbacks on a direct executor are batched like this already.
     *
     * <pre>{@code
     * List<CompletableFuture<Item>> items = new ArrayList<>();
     * client.batch(() -> ids.forEach(id -> items.add(client.callAsync("get", id, Item.class))));
     * }</pre>
     *
     * <p>Do not wait for a call's result inside the block: its request is not sent before the
     * block ends, so the wait lasts until the call's deadline. A blocking {@code call} inside is
     * allowed (it sends what the block has queued first, then waits). Nesting is allowed; the
     * outermost block sends. A call that finds no open connection (the first calls of a new
     * client, or after an outage) waits for the connect without holding the thread, and is sent
     * when the connection opens, whether or not the block has ended.
     */
    public void batch(Runnable calls) {
        Objects.requireNonNull(calls, "calls");
        ConnectionPool.batch(calls);
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Graceful close: new calls fail with {@link ClientClosedException}; calls in flight get up to
     * {@link ClientOptions#closeGracePeriod()} to finish; then every connection closes (calls still
     * running fail with {@link ClientClosedException}) and every thread the client started ends.
     * Idempotent; a second call waits for the first to finish. Called on an event loop (from a
     * callback under a direct executor), it returns at once and the close goes on in a thread of
     * its own, since a loop must never wait.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            if (!NettyRuntime.onEventLoop()) {
                awaitTermination(options.closeGracePeriod().plusSeconds(5));
            }
            return;
        }
        // on an event loop (a callback under a direct executor) the loop must not wait out the
        // grace period: the close goes on in a thread of its own
        NettyRuntime.runOffLoop("tidewire-close-" + options.name(), this::drainAndRelease);
    }

    private void drainAndRelease() {
        long deadline = System.nanoTime() + options.closeGracePeriod().toNanos();
        if (inFlight.get() == 0) {
            drained.complete(null);
        }
        try {
            drained.get(options.closeGracePeriod().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // grace period over
        }
        pool.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        release();
    }

    /** Closes at once: calls in flight fail with {@link ClientClosedException}. Idempotent. */
    public void shutdownNow() {
        closing.set(true);
        pool.closeNow();
        release();
    }

    /** Waits until the client has fully closed; true if it did within {@code timeout}. */
    public boolean awaitTermination(Duration timeout) {
        try {
            terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /** Whether {@link #close()} or {@link #shutdownNow()} has been called. */
    public boolean isClosed() {
        return closing.get();
    }

    /** The settings this client was built with. */
    public ClientOptions options() {
        return options;
    }

    /** Calls in flight now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** A snapshot of the connection pool (the sum over every endpoint's pool when the client calls a fleet). */
    public PoolStats poolStats() {
        return pool.stats();
    }

    /** The endpoints the client balances across now, with their figures (one for a single {@code address}). */
    public List<EndpointStats> endpoints() {
        return pool.endpoints();
    }

    @Override
    public String toString() {
        return "TidewireClient[" + options.target() + ", inFlight=" + inFlight.get() + ", " + pool.stats() + "]";
    }

    // ------------------------------------------------------------------ internals

    private void release() {
        synchronized (terminated) {
            if (terminated.isDone()) {
                return;
            }
            if (ownsResources) {
                resources.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            terminated.complete(null);
        }
    }

    /**
     * The call's deadline: its timeout from {@code start}, or sooner if the call options name an
     * earlier deadline or the call is made inside a server handler whose request ends earlier
     * (deadline propagation: a call never outlives the request that made it).
     */
    private Deadline deadline(long start, CallOptions callOptions) {
        Objects.requireNonNull(callOptions, "callOptions");
        Duration t = callOptions.timeout();
        Deadline own = t == null ? new Deadline(start, defaultTimeoutNanos) : Deadline.of(start, t);
        return earlier(earlier(own, callOptions.deadline()), ServerRequest.currentDeadline());
    }

    private static Deadline earlier(Deadline a, Deadline b) {
        return b == null || b.deadlineNanos() - a.deadlineNanos() >= 0 ? a : b;
    }

    /** Sends a call: straight to the pool, or through the interceptors (the observation first). */
    private CompletableFuture<byte[]> send(String op, byte[] body, CallOptions callOptions, Deadline deadline,
            long start) {
        Metadata metadata = callOptions.metadata();
        boolean idempotent = callOptions.idempotent();
        Duration hedge = callOptions.hedgeAfter();
        if (interceptors == null) {
            return pool.call(op, body, metadata, deadline, idempotent, hedge, null);
        }
        InterceptedCall.Sender s = !idempotent ? sender : (o, b, md, d) -> pool.call(o, b, md, d, true, hedge, null);
        return InterceptedCall.start(interceptors, s, op, body, metadata, deadline, start);
    }

    /**
     * Counts a call in, never past {@code maxPendingCalls}; refuses it if the client is at that
     * limit or closed. Counting in before reading {@code closing} (and close setting
     * {@code closing} before reading the count) means close never misses a call it must wait for.
     */
    private void enter(String op) {
        for (;;) {
            int pending = inFlight.get();
            if (pending >= maxPendingCalls) {
                if (closing.get()) {
                    break; // report the close, not the limit
                }
                throw new TooManyPendingCallsException("op '" + op + "' refused: " + maxPendingCalls
                        + " calls already pending on the client (maxPendingCalls); nothing was sent", maxPendingCalls);
            }
            if (inFlight.compareAndSet(pending, pending + 1)) {
                if (!closing.get()) {
                    return;
                }
                exit(op, null, -1);
                break;
            }
        }
        throw new ClientClosedException("op '" + op + "' refused: the client is closed");
    }

    private void exit(String op, Throwable failure, long start) {
        if (inFlight.decrementAndGet() == 0 && closing.get()) {
            drained.complete(null);
        }
        if (start >= 0) {
            record(op, failure, start);
        }
    }

    private void record(String op, Throwable failure, long start) {
        if (metrics != null) {
            metrics.record(op, Outcome.of(failure), System.nanoTime() - start);
        }
    }

    private byte[] await(String op, CompletableFuture<byte[]> reply, Deadline deadline) {
        // a blocking call inside batch(): send what the block has queued before blocking
        ConnectionPool.beforeBlocking();
        try {
            // The transport ends every call by its deadline; the extra second only guards against a bug.
            // BlockingWait is CompletableFuture.get for callers: a reply decoded on an event loop wakes
            // this thread at the end of the loop's read, and this thread then wakes up to two more
            // callers of that read before it goes on (no other thread ever parks here).
            return BlockingWait.get(reply, Math.max(0, deadline.remainingNanos()) + TimeUnit.SECONDS.toNanos(1));
        } catch (ExecutionException e) {
            Throwable cause = unwrap(e.getCause());
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("op '" + op + "' failed unexpectedly", cause);
        } catch (InterruptedException e) {
            reply.cancel(true);
            Thread.currentThread().interrupt();
            CancellationException ce = new CancellationException("op '" + op + "' cancelled: the calling thread was interrupted");
            ce.initCause(e);
            throw ce;
        } catch (TimeoutException e) {
            reply.cancel(true);
            long now = System.nanoTime();
            throw new RequestTimeoutException(op, 0, deadline.elapsed(now), deadline.limit(), true, "");
        }
    }

    private static Throwable unwrap(Throwable error) {
        Throwable e = error;
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** A copy of a caller's JSON bytes, after the op name is checked (before any connection is needed). */
    private static byte[] rawBody(String op, byte[] jsonBody) {
        RequestPayload.opBytes(op);
        return Objects.requireNonNull(jsonBody, "jsonBody").clone();
    }

    private byte[] encode(String op, Object request) {
        RequestPayload.opBytes(op); // an invalid op name fails here, before any connection is needed
        if (request == null) {
            return JSON_NULL;
        }
        try {
            return mapper.writeValueAsBytes(request);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("request for op '" + op + "' cannot be encoded as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** A reply type given as a class, as Jackson sees it (the same lookup {@code readValue(bytes, Class)} makes). */
    private JavaType javaType(Class<?> type) {
        return mapper.constructType(Objects.requireNonNull(type, "type"));
    }

    /** A reply type given with its type arguments, as Jackson sees it. */
    private JavaType javaType(TypeReference<?> type) {
        return mapper.constructType(Objects.requireNonNull(type, "type"));
    }

    /**
     * The one decoding of every typed reply (every {@code call} and {@code callAsync}, whichever
     * way its type was given): {@code Void} ignores the reply, an empty reply is {@code null} (a
     * {@code NullNode} for {@code JsonNode}), anything Jackson cannot map to {@code type} is a
     * {@link ResponseDecodingException}.
     */
    @SuppressWarnings("unchecked")
    private <T> T decode(String op, byte[] reply, JavaType type) {
        Class<?> raw = type.getRawClass();
        if (raw == Void.class) {
            return null;
        }
        try {
            if (reply.length == 0) {
                return raw == JsonNode.class ? (T) mapper.nullNode() : null;
            }
            return mapper.readValue(reply, type);
        } catch (IOException e) {
            String head = new String(reply, 0, Math.min(reply.length, 120), StandardCharsets.UTF_8);
            throw new ResponseDecodingException("reply to op '" + op + "' (" + reply.length + " bytes) does not decode as "
                    + describe(type) + ": " + e.getMessage().lines().findFirst().orElse("") + "; reply starts: " + head,
                    e);
        }
    }

    /** {@code Message} for a plain class, {@code java.util.List<dev.example.Message>} for a generic type. */
    private static String describe(JavaType type) {
        return type.isArrayType() || type.containedTypeCount() == 0 ? type.getRawClass().getSimpleName()
                : type.toCanonical();
    }

    /**
     * Builds a {@link TidewireClient}. Each setter checks its argument at once and names it in the
     * error; {@link #build()} checks the rules across settings.
     */
    public static final class Builder {
        private static final AtomicInteger CLIENT_NUMBERS = new AtomicInteger();
        /** Default call timeout: 5 s. */
        public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);
        /** Default {@link #maxPendingCalls(int)}: 65,536. */
        public static final int DEFAULT_MAX_PENDING_CALLS = 65_536;
        /** Default grace period of {@link TidewireClient#close()}: 10 s. */
        public static final Duration DEFAULT_CLOSE_GRACE_PERIOD = Duration.ofSeconds(10);
        /** Most boundaries {@link #metricsServiceLevelObjectives(Duration...)} takes: 32. */
        public static final int MAX_METRICS_SLOS = 32;

        private InetSocketAddress address;
        private String target;
        private Supplier<EndpointResolver> resolver;
        private FleetOptions fleet = FleetOptions.defaults();
        private String name;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration closeGracePeriod = DEFAULT_CLOSE_GRACE_PERIOD;
        private final PoolOptions.Builder pool = PoolOptions.builder();
        private final ConnectionOptions.Builder connection = ConnectionOptions.builder();
        private ObjectMapper objectMapper;
        private MeterRegistry meterRegistry;
        private final List<ClientInterceptor> interceptors = new ArrayList<>();
        private ObservationRegistry observationRegistry;
        private boolean metricsHistogram;
        private List<Duration> metricsServiceLevelObjectives = List.of();
        private Executor callbackExecutor;
        private int callbackThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private Duration timerTick = TransportResources.DEFAULT_TIMER_TICK;
        private int maxPendingCalls = DEFAULT_MAX_PENDING_CALLS;
        private int ioThreads = Runtime.getRuntime().availableProcessors();
        private TransportResources transportResources;
        private boolean threadsSet;

        private Builder() {
        }

        /** The server as {@code host:port} ({@code [v6addr]:port} for IPv6); required (the seed's {@code addr}). */
        public Builder address(String hostAndPort) {
            Objects.requireNonNull(hostAndPort, "address");
            int colon = hostAndPort.lastIndexOf(':');
            if (colon <= 0 || colon == hostAndPort.length() - 1) {
                throw new IllegalArgumentException("address must be host:port, got '" + hostAndPort + "'");
            }
            String host = hostAndPort.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(hostAndPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("address port must be a number, got '" + hostAndPort + "'");
            }
            return address(host, port);
        }

        /** The server as host and port, 1..65535. */
        public Builder address(String host, int port) {
            Objects.requireNonNull(host, "address host");
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("address port must be in 1..65535, got " + port);
            }
            InetSocketAddress a = new InetSocketAddress(host, port);
            if (a.isUnresolved()) {
                throw new IllegalArgumentException("address host '" + host + "' cannot be resolved");
            }
            return address(a);
        }

        /** The server's socket address. */
        public Builder address(InetSocketAddress address) {
            Objects.requireNonNull(address, "address");
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("address " + address + " is unresolved");
            }
            this.address = address;
            this.target = null;
            this.resolver = null;
            return this;
        }

        /**
         * The servers to call, instead of one {@link #address}: the client keeps a pool per endpoint
         * and balances calls across them (docs/fleet.md). One of:
         * <ul>
         * <li>{@code "10.0.0.1:7000,10.0.0.2:7000"}: a static list of {@code host:port} (names are
         *     resolved once, now, to their first address);</li>
         * <li>{@code "dns:///api.internal:7000"}: the name's A/AAAA records, re-resolved at their TTL
         *     (at most every 30 s) and after a connection to an endpoint fails; with a name
         *     server, {@code "dns://10.0.0.53:53/api.internal:7000"};</li>
         * <li>{@code "srv:///_tidewire._tcp.api.internal"}: the name's SRV records (priority and
         *     weight honoured), likewise ({@code "srv://10.0.0.53:53/..."}).</li>
         * </ul>
         *
         * @throws IllegalArgumentException if the target is malformed, or a static name cannot be resolved
         */
        public Builder target(String target) {
            Objects.requireNonNull(target, "target");
            String t = target.strip();
            if (t.contains("://")) {
                DnsEndpointResolver.parse(t, DnsEndpointResolver.DEFAULT_REFRESH_INTERVAL).close(); // validates now
                this.resolver = () -> DnsEndpointResolver.parse(t, DnsEndpointResolver.DEFAULT_REFRESH_INTERVAL);
            } else {
                List<Endpoint> endpoints = new ArrayList<>();
                for (String part : t.split(",")) {
                    endpoints.add(Endpoint.of(address(part.strip()).address));
                }
                this.resolver = () -> EndpointResolver.of(endpoints);
            }
            this.target = t;
            this.address = null;
            return this;
        }

        /**
         * The servers to call, as a resolver reports them (Consul, etcd, Kubernetes endpoints...):
         * see {@link EndpointResolver} for the contract. The client starts it and closes it; give
         * each client its own.
         */
        public Builder target(EndpointResolver resolver) {
            Objects.requireNonNull(resolver, "resolver");
            this.resolver = () -> resolver;
            this.target = resolver.toString();
            this.address = null;
            return this;
        }

        /** Balancing, slow start, outlier ejection and retries across endpoints (default {@link FleetOptions#defaults()}). */
        public Builder fleet(FleetOptions fleet) {
            this.fleet = Objects.requireNonNull(fleet, "fleet");
            return this;
        }

        /**
         * The client's name: the {@code client} tag of its meters, so two clients in one registry
         * (even for the same address) keep separate series; 1..64 characters. Default
         * {@code tidewire-N}, N counting clients made in this process.
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > 64) {
                throw new IllegalArgumentException("name must be 1..64 characters, got '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /** Most connections, 1..1024; default 8 (the seed's {@code size}). */
        public Builder maxConnections(int maxConnections) {
            pool.maxConnections(maxConnections);
            return this;
        }

        /** Connections kept open without traffic (opened in the background from the start), 0..maxConnections; default 0. */
        public Builder minIdle(int minIdle) {
            pool.minIdle(minIdle);
            return this;
        }

        /** Default timeout of each call, start to reply, &gt; 0; default 5 s (the seed's {@code readTimeout}). */
        public Builder requestTimeout(Duration requestTimeout) {
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            if (requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException("requestTimeout must be > 0, got " + requestTimeout);
            }
            this.requestTimeout = requestTimeout;
            return this;
        }

        /** TCP connect plus handshake, &gt; 0; default 5 s (the seed's {@code dialTimeout}). */
        public Builder connectTimeout(Duration connectTimeout) {
            connection.connectTimeout(connectTimeout);
            return this;
        }

        /** TCP keepalive idle time, whole seconds &gt;= 1, or zero for off; default 15 s (the seed's {@code keepAlive}). */
        public Builder keepAlive(Duration idle) {
            connection.keepAlive(idle);
            return this;
        }

        /** TCP keepalive in full: idle, probe interval (&gt;= 1 s), probe count (1..127); defaults 15 s, 5 s, 3. */
        public Builder keepAlive(Duration idle, Duration interval, int count) {
            connection.keepAlive(idle, interval, count);
            return this;
        }

        /** PING after {@code interval} without a completed frame; dead after {@code timeout} without one; defaults 2 s and 5 s; zero interval disables. */
        public Builder heartbeat(Duration interval, Duration timeout) {
            connection.heartbeat(interval, timeout);
            return this;
        }

        /** Client-side cap on calls in flight per connection, &gt;= 1; default 1024 (the server may announce less). */
        public Builder maxInFlightPerConnection(int max) {
            connection.maxInFlight(max);
            return this;
        }

        /** Largest reply accepted, bytes, 4 KiB..1 GiB; default 16 MiB. */
        public Builder maxFrameSize(int bytes) {
            connection.maxFrameSize(bytes);
            return this;
        }

        /**
         * Credentials sent in each connection's HELLO (string fields, e.g. {@code type} and
         * {@code token}); never printed or logged. A server that refuses them makes calls fail
         * with {@link dev.tidewire.AuthenticationException}, which is not retried. Default none.
         */
        public Builder credentials(Map<String, String> credentials) {
            connection.credentials(credentials);
            return this;
        }

        /** Shorthand for {@code credentials({"type":"bearer","token":token})}. */
        public Builder bearerToken(String token) {
            connection.bearerToken(token);
            return this;
        }

        /**
         * Connect with TLS (mutual TLS when the config has a key store); the server's certificate
         * must be trusted and match the address's host name or IP. A failed handshake makes calls
         * fail with {@link dev.tidewire.TlsException}, which is not retried. Default plain TCP.
         */
        public Builder tls(TlsConfig tls) {
            connection.tls(Objects.requireNonNull(tls, "tls"));
            return this;
        }

        /**
         * Whether connections offer CRC32C frame checksums in HELLO; default
         * {@link dev.tidewire.transport.ChecksumMode#AUTO}: on without TLS, off under TLS (whose
         * records carry a MAC). Used only when the server offers them too; then a frame corrupted
         * in transit fails its connection, and the calls on it fail with
         * {@link dev.tidewire.ConnectionLostException}, instead of being delivered.
         */
        public Builder checksum(dev.tidewire.transport.ChecksumMode checksum) {
            connection.checksum(checksum);
            return this;
        }

        /** Unused time after which an idle connection closes (down to minIdle), &gt; 0; default 5 min. */
        public Builder idleTimeout(Duration idleTimeout) {
            pool.idleTimeout(idleTimeout);
            return this;
        }

        /** How often the evictor runs, &gt; 0; default 30 s. */
        public Builder evictionInterval(Duration interval) {
            pool.evictionInterval(interval);
            return this;
        }

        /** Age at which a connection is drained and replaced, &gt; 0, minus up to 10 % jitter; default 30 min. */
        public Builder maxLifetime(Duration maxLifetime) {
            pool.maxLifetime(maxLifetime);
            return this;
        }

        /** Backoff between failed connect attempts: first wait and longest wait; defaults 100 ms and 5 s. */
        public Builder connectBackoff(Duration initial, Duration max) {
            pool.connectBackoff(initial, max);
            return this;
        }

        /**
         * The client-wide retry budget for calls the server certainly did not process
         * (NOT_PROCESSED, connect failures): retries at most {@code ratio} (0..1) of the calls made
         * plus {@code minPerSecond} (0..10,000) each second; defaults 0.2 and 10. {@code (0, 0)}
         * turns the pool's retries off.
         */
        public Builder retryBudget(double ratio, int minPerSecond) {
            pool.retryBudget(ratio, minPerSecond);
            return this;
        }

        /** How long {@link TidewireClient#close()} lets calls in flight finish, &gt;= 0; default 10 s. */
        public Builder closeGracePeriod(Duration grace) {
            Objects.requireNonNull(grace, "closeGracePeriod");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("closeGracePeriod must be >= 0, got " + grace);
            }
            this.closeGracePeriod = grace;
            return this;
        }

        /**
         * The Jackson mapper for requests and replies; default {@link JsonLimits#newObjectMapper()}
         * (nesting depth 64, numbers 100 characters, strings 16 MiB). A mapper given here is used as it is.
         */
        public Builder objectMapper(ObjectMapper objectMapper) {
            this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper");
            return this;
        }

        /**
         * Where to publish metrics ({@code docs/metrics.md}); default none, and then metrics cost
         * nothing. Needs {@code io.micrometer:micrometer-core} on the class path, an optional
         * dependency of tidewire-sdk: a client without a registry runs without Micrometer.
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
            return this;
        }

        /**
         * Adds an interceptor that every call passes (see {@link ClientInterceptor}); the first
         * added is the outermost, inside the observation of {@link #observationRegistry}.
         */
        public Builder interceptor(ClientInterceptor interceptor) {
            interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
            return this;
        }

        /**
         * Whether the request timer {@code tidewire.requests} publishes a percentile histogram: the
         * {@code _bucket} series from which Prometheus computes percentiles (p99 by op,
         * aggregated over instances) with {@code histogram_quantile}. The buckets cover 100 µs to
         * 30 s: 85 series per op and outcome with Prometheus' {@code +Inf} bucket. Needs
         * {@link #meterRegistry}. Default false, because those buckets are paid for every op ×
         * outcome pair a client sees: 88 series instead of 3 for each ({@code docs/metrics.md}).
         */
        public Builder metricsHistogram(boolean histogram) {
            this.metricsHistogram = histogram;
            return this;
        }

        /**
         * Makes a Micrometer Observation per call in {@code registry}: with Micrometer Tracing, a
         * CLIENT span per call, a child of the caller's current span, whose context (W3C
         * {@code traceparent}) travels to the server in the call's metadata. {@code callAsync}
         * callbacks run with the caller's observation in scope. Default none, and then tracing
         * costs nothing. See {@code docs/tracing.md}. Needs {@code io.micrometer:micrometer-observation}
         * on the class path (an optional dependency of tidewire-sdk; micrometer-core brings it).
         */
        public Builder observationRegistry(ObservationRegistry registry) {
            this.observationRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /**
         * Extra bucket boundaries (service-level objectives) of the request timer, for example 5 ms
         * and 10 ms: each adds one exact {@code le} bucket per op and outcome, with or without
         * {@link #metricsHistogram}, so the share of calls under it is read without interpolation.
         * Each &gt; 0, no duplicates, at most {@value #MAX_METRICS_SLOS}; replaces boundaries given
         * before; none (the default) adds no bucket. Needs {@link #meterRegistry}.
         */
        public Builder metricsServiceLevelObjectives(Duration... boundaries) {
            Objects.requireNonNull(boundaries, "metricsServiceLevelObjectives");
            if (boundaries.length > MAX_METRICS_SLOS) {
                throw new IllegalArgumentException("metricsServiceLevelObjectives takes at most " + MAX_METRICS_SLOS
                        + " boundaries, got " + boundaries.length);
            }
            TreeSet<Duration> sorted = new TreeSet<>();
            for (Duration d : boundaries) {
                Objects.requireNonNull(d, "metricsServiceLevelObjectives boundary");
                if (d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("metricsServiceLevelObjectives must be > 0, got " + d);
                }
                if (!sorted.add(d)) {
                    throw new IllegalArgumentException("metricsServiceLevelObjectives lists " + d + " twice");
                }
            }
            this.metricsServiceLevelObjectives = List.copyOf(sorted);
            return this;
        }

        /**
         * Executor that completes {@code callAsync} futures (and runs what callers chain on them);
         * default the client's own pool of {@code callbackThreads} daemon threads.
         *
         * <p>A direct executor ({@code Runnable::run}) saves a thread hand-off per call, but then
         * callbacks run on Tidewire's event loops, which do the socket I/O and the timers of every
         * connection bound to them: callbacks must be quick and must never block. A callback may
         * make new calls with {@code callAsync} (when the pool must open or wait for a connection,
         * that part runs on the callback pool, never on the loop); a blocking {@code call} from an
         * event loop is refused with {@link IllegalStateException}, since its reply would have to
         * be read by the very thread it blocks.
         *
         * <p>If the executor rejects a completion (shut down, or a bounded queue full), the call
         * fails with {@link java.util.concurrent.RejectedExecutionException} delivered on the
         * client's own callback pool, never on an event loop, and a warning is logged.
         */
        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = Objects.requireNonNull(executor, "callbackExecutor");
            return this;
        }

        /** Threads of the client's own callback pool, 1..1024; default max(2, cores). */
        public Builder callbackThreads(int threads) {
            if (threads < 1 || threads > 1024) {
                throw new IllegalArgumentException("callbackThreads must be in 1..1024, got " + threads);
            }
            this.callbackThreads = threads;
            this.threadsSet = true;
            return this;
        }

        /**
         * Event-loop threads of the client's own transport resources, 1..256; default the number
         * of cores. They do all socket I/O and every timer of all the client's connections: the
         * thread count does not grow with {@code maxConnections}.
         */
        public Builder ioThreads(int threads) {
            if (threads < 1 || threads > 256) {
                throw new IllegalArgumentException("ioThreads must be in 1..256, got " + threads);
            }
            this.ioThreads = threads;
            this.threadsSet = true;
            return this;
        }

        /**
         * Share these transport resources (event loops, callback pool, timers) with other clients
         * instead of making the client's own. The client does not close them: close them after
         * every client that uses them. Excludes {@link #ioThreads}, {@link #callbackThreads} and
         * {@link #timerTick}, which the resources already fix.
         */
        public Builder transportResources(TransportResources resources) {
            this.transportResources = Objects.requireNonNull(resources, "transportResources");
            return this;
        }

        /**
         * Outbound byte budget per connection, 64 KiB..1 GiB; default 1 MiB. Once that many bytes
         * wait for the socket, new calls go to another connection or wait (within their
         * deadlines) for this one to drain.
         */
        public Builder outboundBudget(int bytes) {
            connection.outboundBudget(bytes);
            return this;
        }

        /**
         * A connection that makes no write progress for this long while bytes wait for the socket
         * (a server that stopped reading) is failed; &gt; 0, default 10 s.
         */
        public Builder writeStallTimeout(Duration timeout) {
            connection.writeStallTimeout(timeout);
            return this;
        }

        /** A frame that has started arriving must finish within this, else its connection fails; default 10 s. */
        public Builder frameReadTimeout(Duration timeout) {
            connection.frameReadTimeout(timeout);
            return this;
        }

        /** Resolution of timeouts and heartbeats, 1 ms..1 s; default 10 ms. */
        public Builder timerTick(Duration tick) {
            Objects.requireNonNull(tick, "timerTick");
            if (tick.compareTo(Duration.ofMillis(1)) < 0 || tick.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("timerTick must be in 1 ms .. 1 s, got " + tick);
            }
            this.timerTick = tick;
            this.threadsSet = true;
            return this;
        }

        /**
         * Most calls this client has started and not yet ended, blocking and async together: in
         * flight on a connection, or waiting for a connection or for an in-flight slot. A call
         * beyond it fails at once with {@link TooManyPendingCallsException}, without being sent.
         * At least 1; default {@value #DEFAULT_MAX_PENDING_CALLS}, a bound on memory under
         * overload (each pending call holds its request). To bound latency instead, set it near
         * throughput x acceptable wait (Little's law; {@code docs/tuning.md}).
         */
        public Builder maxPendingCalls(int maxPendingCalls) {
            if (maxPendingCalls < 1) {
                throw new IllegalArgumentException("maxPendingCalls must be at least 1, got " + maxPendingCalls);
            }
            this.maxPendingCalls = maxPendingCalls;
            return this;
        }

        /** The options these settings make, validated. */
        public ClientOptions buildOptions() {
            if (address == null && resolver == null) {
                throw new IllegalArgumentException("address or target is required (host:port of the Tidewire server,"
                        + " or the servers of a fleet)");
            }
            ConnectionOptions c = connection.build();
            PoolOptions p = pool.build();
            if (c.heartbeatInterval().isZero() && c.keepAliveIdle().isZero()) {
                throw new IllegalArgumentException("heartbeat and keepAlive are both off: a silent server would"
                        + " never be detected; enable at least one");
            }
            if (transportResources != null && threadsSet) {
                throw new IllegalArgumentException("give either transportResources or ioThreads/callbackThreads/"
                        + "timerTick: shared resources already fix their threads and tick");
            }
            if (transportResources != null && transportResources.isClosed()) {
                throw new IllegalArgumentException("transportResources are closed");
            }
            if (meterRegistry == null && (metricsHistogram || !metricsServiceLevelObjectives.isEmpty())) {
                throw new IllegalArgumentException("metricsHistogram and metricsServiceLevelObjectives shape the meters"
                        + " of a meterRegistry; none is given");
            }
            String clientName = name != null ? name : "tidewire-" + CLIENT_NUMBERS.incrementAndGet();
            String label = address != null ? address.getHostString() + ":" + address.getPort() : target;
            InetSocketAddress single = address;
            Supplier<EndpointResolver> endpoints = address != null
                    ? () -> EndpointResolver.of(List.of(Endpoint.of(single))) : resolver;
            return new ClientOptions(clientName, address, label, endpoints, fleet, requestTimeout, closeGracePeriod, p, c,
                    objectMapper != null ? objectMapper : JsonLimits.newObjectMapper(), meterRegistry,
                    metricsHistogram, metricsServiceLevelObjectives,
                    callbackExecutor, callbackThreads, timerTick, maxPendingCalls, ioThreads, transportResources,
                    interceptors, observationRegistry);
        }

        /**
         * Builds the client. Opens {@code minIdle} connections now (logging, not failing, if the
         * server cannot be reached); others open on demand.
         *
         * @throws IllegalArgumentException if a setting is missing or the settings conflict
         */
        public TidewireClient build() {
            return new TidewireClient(buildOptions());
        }
    }
}
