package dev.tidewire;

import java.time.Duration;

/**
 * The call's deadline passed before its reply arrived. If the request had been written
 * ({@link #sent()}), the server may still process it (a best-effort CANCEL was sent) and the call
 * is not {@link #retryable()}; if it was still waiting for a free slot and never written, it is.
 */
public class RequestTimeoutException extends TidewireException {
    /** @serial the call's op */
    private final String op;
    /** @serial the request id, or 0 */
    private final long requestId;
    /** @serial time from the start of the call to its failure */
    private final Duration elapsed;
    /** @serial the call's timeout */
    private final Duration limit;
    /** @serial whether the request had been handed to the socket */
    private final boolean sent;

    /**
     * @param op        the operation of the call
     * @param requestId the request id, or 0 if none had been assigned yet
     * @param elapsed   time from the start of the call to its failure
     * @param limit     the call's timeout
     * @param sent      whether the request had been handed to the socket
     * @param detail    for a request never sent, what it was waiting for (used only then)
     */
    public RequestTimeoutException(String op, long requestId, Duration elapsed, Duration limit,
            boolean sent, String detail) {
        super("op '" + op + "' (request " + requestId + ") timed out after " + Durations.format(elapsed)
                + " (limit " + Durations.format(limit) + "); "
                + (sent ? "the request was sent and may have been processed" : "the request was never sent: " + detail),
                !sent, null);
        this.op = op;
        this.requestId = requestId;
        this.elapsed = elapsed;
        this.limit = limit;
        this.sent = sent;
    }

    /** The operation of the call. */
    public String op() {
        return op;
    }

    /** The request id, or 0 if none had been assigned yet. */
    public long requestId() {
        return requestId;
    }

    /** Time from the start of the call to the moment it was failed. */
    public Duration elapsed() {
        return elapsed;
    }

    /** The call's timeout. */
    public Duration limit() {
        return limit;
    }

    /** Whether the request had been handed to the socket before the deadline passed. */
    public boolean sent() {
        return sent;
    }
}
