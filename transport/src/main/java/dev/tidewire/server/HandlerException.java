package dev.tidewire.server;

/** Thrown (or used to complete a stage) by a handler to answer the call with an ERROR frame. */
public class HandlerException extends RuntimeException {
    private final int code;

    /**
     * @param code    the error code sent to the client; applications use 1000 and above
     * @param message the text sent to the client
     */
    public HandlerException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The error code sent to the client. */
    public int code() {
        return code;
    }
}
