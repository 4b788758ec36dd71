package dev.tidewire;

/**
 * The connection carrying the call failed (closed by the peer, reset, or declared dead by the
 * heartbeat) after the request was written. The server may or may not have processed it, so the
 * call is not {@link #retryable()}; retry only idempotent operations.
 */
public class ConnectionLostException extends TidewireException {
    public ConnectionLostException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
