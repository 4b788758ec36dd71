package dev.tidewire;

/**
 * Root of every error Tidewire raises. Unchecked: a call either returns its result or throws one
 * subclass of this, chosen by what the caller can do about it.
 *
 * <pre>{@code
 * try {
 *     reply = client.call("echo", request, Reply.class);
 * } catch (TidewireException e) {
 *     if (e.retryable()) { ... safe to send again: the server did not process it ... }
 * }
 * }</pre>
 *
 * <p>{@link #retryable()} is a hint about <em>safety</em>, not about likely success: it is
 * {@code true} only when Tidewire knows the request was not processed by the server (it was never
 * written, or the server said so), so sending it again cannot apply it twice. A request that may
 * have been processed (a timeout, a lost connection) reports {@code false}; retry those only when
 * the operation is idempotent.
 */
public abstract class TidewireException extends RuntimeException {
    /** @serial whether the request is known not to have been processed */
    private final boolean retryable;

    /**
     * @param message   what happened, for people: stable wording is not promised
     * @param retryable whether the request is known not to have been processed
     * @param cause     the underlying failure, or null
     */
    protected TidewireException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    /** Whether sending the same request again is known to be safe (it was not processed). */
    public boolean retryable() {
        return retryable;
    }
}
