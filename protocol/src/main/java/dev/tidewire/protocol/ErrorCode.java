package dev.tidewire.protocol;

/**
 * Error codes carried by ERROR frames. Codes below 1000 are reserved by the protocol; applications
 * use 1000 and above for their own errors. A receiver must accept any code, known or not.
 */
public final class ErrorCode {
    /** Connection level (id 0): the peer broke the protocol; the sender closes the connection. */
    public static final int PROTOCOL_ERROR = 1;
    /** Connection level (id 0): the HELLO named a version the server does not speak. */
    public static final int UNSUPPORTED_VERSION = 2;
    /** Connection level (id 0): a frame exceeded the receiver's maxFrameSize; the connection closes. */
    public static final int FRAME_TOO_LARGE = 3;
    /** Connection level (id 0): the HELLO's credentials were refused; the connection closes. */
    public static final int UNAUTHENTICATED = 4;
    /**
     * Connection level (id 0): a frame's CRC32C trailer did not match (the frame was corrupted in
     * transit); the sender closes the connection. Sent only where both HELLOs announced checksums.
     */
    public static final int CHECKSUM_MISMATCH = 5;
    /** The server has no handler for the request's op. */
    public static final int UNKNOWN_OP = 10;
    /** The request was malformed (bad op prefix, body the handler could not read). */
    public static final int BAD_REQUEST = 11;
    /** The handler failed unexpectedly. */
    public static final int INTERNAL = 12;
    /** The server refused the request without processing it (too many in flight, queue full). Retryable. */
    public static final int OVERLOADED = 13;
    /** The request arrived after GOAWAY and was not processed. Retryable. */
    public static final int NOT_PROCESSED = 14;
    /** The reply would exceed the client's maxFrameSize, so the server sent this instead. */
    public static final int RESPONSE_TOO_LARGE = 15;
    /**
     * The request's deadline (the time left it carried in a REQUEST_EXT) passed before the handler
     * answered: the handler was not run, or was cancelled. The caller has stopped waiting by then.
     */
    public static final int DEADLINE_EXCEEDED = 16;
    /** First code free for applications. */
    public static final int FIRST_APPLICATION_CODE = 1000;

    private ErrorCode() {
    }

    /** A code with its name, e.g. {@code 13 OVERLOADED}, or just the number for others. */
    public static String describe(int code) {
        String name = switch (code) {
            case PROTOCOL_ERROR -> "PROTOCOL_ERROR";
            case UNSUPPORTED_VERSION -> "UNSUPPORTED_VERSION";
            case FRAME_TOO_LARGE -> "FRAME_TOO_LARGE";
            case UNAUTHENTICATED -> "UNAUTHENTICATED";
            case CHECKSUM_MISMATCH -> "CHECKSUM_MISMATCH";
            case UNKNOWN_OP -> "UNKNOWN_OP";
            case BAD_REQUEST -> "BAD_REQUEST";
            case INTERNAL -> "INTERNAL";
            case OVERLOADED -> "OVERLOADED";
            case NOT_PROCESSED -> "NOT_PROCESSED";
            case RESPONSE_TOO_LARGE -> "RESPONSE_TOO_LARGE";
            case DEADLINE_EXCEEDED -> "DEADLINE_EXCEEDED";
            default -> null;
        };
        return name == null ? Integer.toString(code) : code + " " + name;
    }
}
