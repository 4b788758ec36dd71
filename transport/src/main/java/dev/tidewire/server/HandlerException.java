package dev.tidewire.server;

/** Thrown (or used to complete a stage) by a handler to answer the call with an ERROR frame. */
public class HandlerException extends RuntimeException {
    /** @serial the error code sent to the client */
    private final int code;

    /**
     * @param code    the error code sent to the client, not 0; applications use 1000 and above
     *                  (a handler may send 13 OVERLOADED or 14 NOT_PROCESSED only for work it did not do:
     *                  clients treat those as safe to retry)
     * @param message the text sent to the client
     * @throws IllegalArgumentException if {@code code} is 0
     */
    public HandlerException(int code, String message) {
        super(message);
        if (code == 0) {
            throw new IllegalArgumentException("error code 0 is not an error");
        }
        this.code = code;
    }

    /** The error code sent to the client. */
    public int code() {
        return code;
    }
}
