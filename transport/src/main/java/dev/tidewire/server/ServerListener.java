package dev.tidewire.server;

/**
 * Server events, for metrics. No-op defaults; implementations must be fast and must not throw
 * (they run on the server's event loops).
 */
public interface ServerListener {
    /** A listener that ignores every event. */
    ServerListener NONE = new ServerListener() {
    };

    /**
     * A request was answered: called when the write of its reply has completed (the reply was
     * handed to the socket, or the write failed because the connection closed first), on the
     * connection's event loop. A client may therefore have the reply before this is called.
     *
     * @param op        the op name as sent by the client (only registered ops; others report {@code "unknown"})
     * @param errorCode 0 for a RESPONSE, else the ERROR code sent
     * @param nanos     time from reading the request to the completed write of the reply
     */
    default void requestCompleted(String op, int errorCode, long nanos) {
    }

    /** A request was cancelled by the client before it was answered. */
    default void requestCancelled(String op) {
    }
}
