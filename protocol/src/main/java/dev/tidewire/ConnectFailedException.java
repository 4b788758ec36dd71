package dev.tidewire;

/**
 * No usable connection could be made: the TCP connect failed or timed out, or the handshake
 * (HELLO) did not complete. Nothing was sent, so the call is {@link #retryable()}.
 */
public class ConnectFailedException extends TidewireException {
    /**
     * @param message what could not be reached, and why
     * @param cause   the underlying failure, or null
     */
    public ConnectFailedException(String message, Throwable cause) {
        super(message, true, cause);
    }
}
