package dev.tidewire.pool.internal;

/**
 * What a fleet learns from one endpoint's pool about the endpoint's connections, for outlier
 * detection. Called on transport or callback threads; implementations only count, never block.
 */
public interface EndpointEvents {
    /** Events nobody listens to (a pool that is not part of a fleet). */
    EndpointEvents NONE = new EndpointEvents() {
    };

    /** A connection to the endpoint opened. */
    default void connected() {
    }

    /** A connect attempt failed (refused, timed out, the handshake failed); not counted while backing off. */
    default void connectAttemptFailed() {
    }

    /** An open connection broke (not a graceful drain after GOAWAY or a close by the client). */
    default void connectionLost() {
    }
}
