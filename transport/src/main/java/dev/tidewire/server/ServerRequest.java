package dev.tidewire.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.protocol.ErrorCode;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.concurrent.ScheduledExecutorService;

/** One request as a handler sees it. */
public final class ServerRequest {
    private final String op;
    private final long requestId;
    private final byte[] body;
    private final SocketAddress remoteAddress;
    private final ObjectMapper mapper;
    private final ScheduledExecutorService timer;
    private volatile boolean cancelled;

    ServerRequest(String op, long requestId, byte[] body, SocketAddress remoteAddress, ObjectMapper mapper,
                  ScheduledExecutorService timer) {
        this.op = op;
        this.requestId = requestId;
        this.body = body;
        this.remoteAddress = remoteAddress;
        this.mapper = mapper;
        this.timer = timer;
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

    /** Whether the client cancelled this request (or its connection closed). */
    public boolean isCancelled() {
        return cancelled;
    }

    void markCancelled() {
        cancelled = true;
    }
}
