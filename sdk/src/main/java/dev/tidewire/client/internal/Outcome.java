package dev.tidewire.client.internal;

import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.ConnectionLostException;
import dev.tidewire.NotProcessedException;
import dev.tidewire.PoolExhaustedException;
import dev.tidewire.ProtocolException;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.RequestTooLargeException;
import dev.tidewire.ResponseDecodingException;
import dev.tidewire.TooManyPendingCallsException;
import java.util.concurrent.CancellationException;

/** How a call ended, as the {@code outcome} tag of the request timer. */
public enum Outcome {
    SUCCESS("success"),
    REMOTE_ERROR("remote_error"),
    TIMEOUT("timeout"),
    CONNECTION_LOST("connection_lost"),
    CONNECT_FAILED("connect_failed"),
    POOL_EXHAUSTED("pool_exhausted"),
    TOO_MANY_PENDING("too_many_pending"),
    CLIENT_CLOSED("client_closed"),
    REQUEST_TOO_LARGE("request_too_large"),
    RESPONSE_DECODING("response_decoding"),
    PROTOCOL_ERROR("protocol_error"),
    NOT_PROCESSED("not_processed"),
    CANCELLED("cancelled"),
    OTHER("other");

    private final String tag;

    Outcome(String tag) {
        this.tag = tag;
    }

    public String tag() {
        return tag;
    }

    public static Outcome of(Throwable error) {
        if (error == null) {
            return SUCCESS;
        }
        if (error instanceof RemoteException) {
            return REMOTE_ERROR;
        }
        if (error instanceof RequestTimeoutException) {
            return TIMEOUT;
        }
        if (error instanceof ConnectionLostException) {
            return CONNECTION_LOST;
        }
        if (error instanceof ConnectFailedException) {
            return CONNECT_FAILED;
        }
        if (error instanceof PoolExhaustedException) {
            return POOL_EXHAUSTED;
        }
        if (error instanceof TooManyPendingCallsException) {
            return TOO_MANY_PENDING;
        }
        if (error instanceof ClientClosedException) {
            return CLIENT_CLOSED;
        }
        if (error instanceof RequestTooLargeException) {
            return REQUEST_TOO_LARGE;
        }
        if (error instanceof ResponseDecodingException) {
            return RESPONSE_DECODING;
        }
        if (error instanceof ProtocolException) {
            return PROTOCOL_ERROR;
        }
        if (error instanceof NotProcessedException) {
            return NOT_PROCESSED;
        }
        if (error instanceof CancellationException) {
            return CANCELLED;
        }
        return OTHER;
    }
}
