package dev.tidewire;

import dev.tidewire.protocol.ErrorCode;

/**
 * The server answered the call with an ERROR frame: it received the request and chose to fail it.
 * {@link #code()} is the error code from the wire ({@link ErrorCode} lists the reserved ones;
 * applications use 1000 and above), {@link #remoteMessage()} the server's text.
 * Retryable only for {@link ErrorCode#OVERLOADED}, which servers send without processing.
 */
public class RemoteException extends TidewireException {
    /** @serial the error code the server sent */
    private final int code;
    /** @serial the server's message, verbatim */
    private final String remoteMessage;
    /** @serial the failed call's op */
    private final String op;
    /** @serial the failed call's request id */
    private final long requestId;

    /**
     * @param op            the operation the failed call named
     * @param requestId     the call's request id on its connection
     * @param code          the error code from the ERROR frame
     * @param remoteMessage the message from the ERROR frame, verbatim
     */
    public RemoteException(String op, long requestId, int code, String remoteMessage) {
        super("server answered op '" + op + "' (request " + requestId + ") with error "
                + ErrorCode.describe(code) + ": " + remoteMessage, code == ErrorCode.OVERLOADED, null);
        this.code = code;
        this.remoteMessage = remoteMessage;
        this.op = op;
        this.requestId = requestId;
    }

    /** The error code the server sent. */
    public int code() {
        return code;
    }

    /** The server's own message, verbatim. */
    public String remoteMessage() {
        return remoteMessage;
    }

    /** The operation the failed call named. */
    public String op() {
        return op;
    }

    /** The request id of the failed call on its connection. */
    public long requestId() {
        return requestId;
    }
}
