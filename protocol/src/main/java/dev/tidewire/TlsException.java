package dev.tidewire;

/**
 * The TLS handshake with the server failed: an unknown or untrusted certificate authority, an
 * expired certificate, a host name that does not match the certificate, or a server that requires
 * a client certificate the client did not present. Nothing was sent. A bad certificate does not
 * fix itself, so this is not {@link #retryable()} and the pool does not retry it; the pool's
 * connect backoff still applies, so attempts stay bounded.
 */
public class TlsException extends TidewireException {
    /**
     * @param message what the handshake rejected
     * @param cause   the {@code SSLException} underneath, or null
     */
    public TlsException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
