package dev.tidewire;

/**
 * The server did not process the request and said so (it is draining after GOAWAY, or the
 * connection went away before the request was written). Always {@link #retryable()}.
 */
public class NotProcessedException extends TidewireException {
    /**
     * @param message why the request was not processed
     * @param cause   the underlying failure, or null
     */
    public NotProcessedException(String message, Throwable cause) {
        super(message, true, cause);
    }
}
