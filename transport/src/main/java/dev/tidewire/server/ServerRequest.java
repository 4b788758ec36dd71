package dev.tidewire.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.Metadata;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.transport.Deadline;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/**
 * One request as a handler sees it: op, body, metadata, the caller's deadline.
 *
 * <p>While a handler (or a {@link ServerInterceptor}) runs, {@link #current()} returns its request
 * on that thread. A Tidewire client called there passes the request's remaining deadline on: its
 * call ends no later than the request that made it.
 */
public final class ServerRequest {
    private static final ThreadLocal<ServerRequest> CURRENT = new ThreadLocal<>();

    private final String op;
    private final long requestId;
    private final byte[] body;
    private final Metadata metadata;
    private final Deadline deadline; // null: the request carried none
    private final SocketAddress remoteAddress;
    private final ObjectMapper mapper;
    private final ScheduledExecutorService timer;
    private volatile boolean cancelled;

    ServerRequest(String op, long requestId, byte[] body, Metadata metadata, Deadline deadline,
                  SocketAddress remoteAddress, ObjectMapper mapper, ScheduledExecutorService timer) {
        this.op = op;
        this.requestId = requestId;
        this.body = body;
        this.metadata = metadata;
        this.deadline = deadline;
        this.remoteAddress = remoteAddress;
        this.mapper = mapper;
        this.timer = timer;
    }

    /**
     * The request whose handler or interceptor runs on this thread now, if any. Set for the duration
     * of {@link Handler#handle}, {@link BlockingHandler#handle} and
     * {@link ServerInterceptor#intercept}, not for stages that complete later on other threads.
     */
    public static Optional<ServerRequest> current() {
        return Optional.ofNullable(CURRENT.get());
    }

    /** The current request's deadline, or null when there is no current request or it has none. */
    public static Deadline currentDeadline() {
        ServerRequest r = CURRENT.get();
        return r == null ? null : r.deadline;
    }

    /** Makes {@code request} {@link #current()} on this thread; returns the one it replaces. */
    static ServerRequest enter(ServerRequest request) {
        ServerRequest previous = CURRENT.get();
        CURRENT.set(request);
        return previous;
    }

    /**
     * Undoes {@link #enter}. Sets null rather than removing the entry: the threads that run
     * handlers (event loops, the handler pool) live long and run one request after another, and
     * a remove per request made each next {@code get} miss, re-insert and clean the thread's
     * ThreadLocal map (measured on the echo path, docs/benchmarks.md section 13). The entry holds
     * no request after exit.
     */
    static void exit(ServerRequest previous) {
        CURRENT.set(previous);
    }

    /** The metadata the client sent with the request (empty if none, or from a client that sends none). */
    public Metadata metadata() {
        return metadata;
    }

    /**
     * When the caller stops waiting: the time left that the request carried, counted from the moment
     * the server read it (so it ends a little after the caller's own deadline, by the network delay).
     * Empty when the client sent no deadline (a plain REQUEST). When it passes before the handler
     * has answered, the server answers {@code DEADLINE_EXCEEDED} (16) and cancels the handler: its
     * stage is cancelled, a blocking handler's thread is interrupted, and {@link #isCancelled()}
     * turns true.
     */
    public Optional<Deadline> deadline() {
        return Optional.ofNullable(deadline);
    }

    /** The deadline or null, for the server's own use. */
    Deadline deadlineOrNull() {
        return deadline;
    }

    /** The connection's event loop, for timers of the built-in handlers. */
    ScheduledExecutorService timer() {
        return timer;
    }

    /** The operation name. */
    public String op() {
        return op;
    }

    /** The request id on its connection. */
    public long requestId() {
        return requestId;
    }

    /** The raw JSON body (empty means null). Owned by the request: do not change it. */
    public byte[] body() {
        return body;
    }

    /** The client's address. */
    public SocketAddress remoteAddress() {
        return remoteAddress;
    }

    /**
     * The body as a JSON tree.
     *
     * @throws HandlerException with {@link ErrorCode#BAD_REQUEST} if it is not valid JSON
     */
    public JsonNode json() {
        try {
            return body.length == 0 ? mapper.nullNode() : mapper.readTree(body);
        } catch (IOException e) {
            throw new HandlerException(ErrorCode.BAD_REQUEST, "request body is not valid JSON: " + e.getMessage());
        }
    }

    /**
     * The body mapped to {@code type}.
     *
     * @throws HandlerException with {@link ErrorCode#BAD_REQUEST} if it does not map
     */
    public <T> T bodyAs(Class<T> type) {
        try {
            return mapper.readValue(body, type);
        } catch (IOException e) {
            throw new HandlerException(ErrorCode.BAD_REQUEST, "request body does not map to "
                    + type.getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Encodes {@code value} as a JSON reply body. */
    public byte[] toJson(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new HandlerException(ErrorCode.INTERNAL, "reply does not encode as JSON: " + e.getMessage());
        }
    }

    /** Whether the client cancelled this request, its deadline passed, or its connection closed. */
    public boolean isCancelled() {
        return cancelled;
    }

    void markCancelled() {
        cancelled = true;
    }
}
