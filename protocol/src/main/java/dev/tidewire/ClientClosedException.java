package dev.tidewire;

/**
 * The client or connection was closed by the application: new calls are refused with this, and
 * calls still pending when a forced close happens fail with it. Not {@link #retryable()} on the
 * same client.
 */
public class ClientClosedException extends TidewireException {
    /** @param message what was closed, and the call it refused or ended */
    public ClientClosedException(String message) {
        super(message, false, null);
    }
}
