package dev.tidewire.server;

/**
 * Server events, for metrics. No-op defaults; implementations must be fast and must not throw
 * (they run on the server's event loops).
 */
public interface ServerListener {
    ServerListener NONE = new ServerListener() {
    };

    /**
     * A request was answered.
     *
     * @param op        the op name as sent by the client (only registered ops; others report {@code "unknown"})
     * @param errorCode 0 for a RESPONSE, else the ERROR code sent
     * @param nanos     time from reading the request to queueing the reply
     */
    default void requestCompleted(String op, int errorCode, long nanos) {
    }

    /** A request was cancelled by the client before it was answered. */
    default void requestCancelled(String op) {
    }
}
