package dev.tidewire;

/**
 * The server refused the client's credentials: it answered HELLO with ERROR code 4
 * {@code UNAUTHENTICATED} and closed the connection. Nothing was sent, but sending again with the
 * same credentials will fail the same way, so this is not {@link #retryable()} and the pool does
 * not retry it; the pool's connect backoff still applies, so a wrong token does not cause a
 * reconnect storm. The message never contains the credentials.
 */
public class AuthenticationException extends TidewireException {
    /**
     * @param message what was refused, without the credentials
     * @param cause   the underlying failure, or null
     */
    public AuthenticationException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
