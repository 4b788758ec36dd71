package dev.tidewire;

/**
 * The encoded request is larger than the peer accepts ({@code maxFrameSize} from its HELLO).
 * Nothing was sent. Sending the same request again fails the same way, so it is not
 * {@link #retryable()}.
 */
public class RequestTooLargeException extends TidewireException {
    private final long size;
    private final long limit;

    public RequestTooLargeException(String op, long size, long limit) {
        super("request for op '" + op + "' is " + size + " bytes, over the server's limit of " + limit
                + " bytes; nothing was sent", false, null);
        this.size = size;
        this.limit = limit;
    }

    /** The encoded payload size in bytes. */
    public long size() {
        return size;
    }

    /** The largest payload the peer accepts, in bytes. */
    public long limit() {
        return limit;
    }
}
