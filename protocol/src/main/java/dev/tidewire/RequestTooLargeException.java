package dev.tidewire;

/**
 * The encoded request is larger than the peer accepts ({@code maxFrameSize} from its HELLO).
 * Nothing was sent. Sending the same request again fails the same way, so it is not
 * {@link #retryable()}.
 */
public class RequestTooLargeException extends TidewireException {
    /** @serial the encoded size in bytes */
    private final long size;
    /** @serial the peer's limit in bytes */
    private final long limit;

    /**
     * A request whose payload is over the server's {@code maxFrameSize}.
     *
     * @param op    the call's op
     * @param size  the encoded payload size in bytes
     * @param limit the server's limit in bytes
     */
    public RequestTooLargeException(String op, long size, long limit) {
        this(size, limit, "request for op '" + op + "' is " + size + " bytes, over the server's limit of " + limit
                + " bytes; nothing was sent");
    }

    private RequestTooLargeException(long size, long limit, String message) {
        super(message, false, null);
        this.size = size;
        this.limit = limit;
    }

    /**
     * A request whose metadata is over the limits the server announced in its HELLO; {@link #size()}
     * and {@link #limit()} are then the metadata's encoded bytes and the server's byte limit.
     *
     * @param op         the call's op
     * @param entries    the metadata's entries
     * @param bytes      the metadata's encoded bytes
     * @param maxEntries the most entries the server accepts
     * @param maxBytes   the most metadata bytes the server accepts
     * @return the exception, with a message naming both limits
     */
    public static RequestTooLargeException metadata(String op, int entries, int bytes, int maxEntries, int maxBytes) {
        return new RequestTooLargeException(bytes, maxBytes, "metadata of the request for op '" + op + "' has " + entries + " entries, "
                + bytes + " bytes; the server accepts at most " + maxEntries + " entries, " + maxBytes
                + " bytes; nothing was sent");
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
