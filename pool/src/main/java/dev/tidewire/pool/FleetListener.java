package dev.tidewire.pool;

import java.time.Duration;

/**
 * Events of a {@link Fleet}, for metrics and logs. Methods are called on transport and callback
 * threads; they must return quickly and never block. All have empty defaults.
 */
public interface FleetListener {
    /** A listener that ignores everything. */
    FleetListener NONE = new FleetListener() {
    };

    /** How one attempt of a call on one endpoint ended. */
    enum AttemptOutcome {
        /** A reply. */
        SUCCESS,
        /** An error reply of the application (or UNKNOWN_OP, BAD_REQUEST): the endpoint answered. */
        REMOTE_ERROR,
        /** OVERLOADED or INTERNAL: the endpoint could not serve it. */
        SERVER_ERROR,
        /** The call's deadline passed. */
        TIMEOUT,
        /** The connection broke with the call in flight. */
        CONNECTION_LOST,
        /** No connection could be made. */
        CONNECT_FAILED,
        /** Refused before it was processed (NOT_PROCESSED, a full pool); safe to send elsewhere. */
        NOT_PROCESSED,
        /** Cancelled, or ended by the client's close. */
        CANCELLED
    }

    /** Why a call was sent again. */
    enum RetryReason {
        /** The endpoint certainly did not process it (NOT_PROCESSED, OVERLOADED, no connection). */
        NOT_PROCESSED,
        /** The call is idempotent and its connection broke. */
        IDEMPOTENT,
        /** A hedge: the idempotent call had no reply after its hedging delay. */
        HEDGE
    }

    /** An endpoint joined the fleet (its pool opens in the background). */
    default void endpointAdded(Endpoint endpoint, EndpointStatsSource stats) {
    }

    /** An endpoint left the fleet: its pool drains (no new calls; calls in flight finish) and closes. */
    default void endpointRemoved(Endpoint endpoint) {
    }

    /** Outlier detection ejected an endpoint for {@code duration}. */
    default void endpointEjected(Endpoint endpoint, String reason, Duration duration) {
    }

    /** An attempt on an endpoint ended (calls balanced over more than one endpoint, or idempotent or hedged ones). */
    default void attemptEnded(Endpoint endpoint, AttemptOutcome outcome) {
    }

    /** A call was sent again. */
    default void retried(RetryReason reason) {
    }

    /** A retry or hedge was not made because the retry budget was spent. */
    default void retryBudgetExhausted() {
    }

    /** Reads one endpoint's current figures (for gauges). */
    interface EndpointStatsSource {
        /** The endpoint's figures now. */
        EndpointStats stats();
    }
}
