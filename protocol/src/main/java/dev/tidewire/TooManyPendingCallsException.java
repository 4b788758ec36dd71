package dev.tidewire;

/**
 * The client already had its maximum number of calls started and not yet ended
 * ({@code maxPendingCalls}), so this call was refused at once: nothing was sent, so it is
 * {@link #retryable()}, but only after some pending calls have ended (back off first). Raised so
 * that overload sheds calls early and memory stays bounded, instead of queueing calls until their
 * deadlines expire.
 */
public class TooManyPendingCallsException extends TidewireException {
    /** @serial the client's {@code maxPendingCalls} */
    private final int limit;

    /**
     * @param message the refused call and the limit
     * @param limit   the client's {@code maxPendingCalls}
     */
    public TooManyPendingCallsException(String message, int limit) {
        super(message, true, null);
        this.limit = limit;
    }

    /** The client's {@code maxPendingCalls}. */
    public int limit() {
        return limit;
    }
}
