package dev.tidewire;

/**
 * The connection carrying the call failed (closed by the peer, reset, declared dead by the
 * heartbeat, or a frame on it failed its CRC32C check, see
 * {@link dev.tidewire.protocol.ChecksumMismatchException}) after the request was written. The server may or may not have processed it, so the
 * call is not {@link #retryable()}; retry only idempotent operations.
 */
public class ConnectionLostException extends TidewireException {
    /**
     * @param message why the connection was lost
     * @param cause   the underlying failure, or null
     */
    public ConnectionLostException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
