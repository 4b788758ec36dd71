package dev.tidewire.server;

/**
 * A snapshot of the server's counters.
 *
 * @param connectionsAccepted connections accepted since start
 * @param connectionsOpen     connections open now
 * @param requests            requests received
 * @param rejectedOverloaded  requests refused with OVERLOADED (in-flight limit or full handler queue)
 * @param refusedNotProcessed requests refused with NOT_PROCESSED after GOAWAY
 * @param cancelled           requests cancelled by the client before they were answered
 * @param maxObservedInFlight the most requests ever in flight at once on one connection
 * @param protocolErrors      connections closed for a protocol violation
 */
public record ServerStats(long connectionsAccepted, int connectionsOpen, long requests, long rejectedOverloaded,
                          long refusedNotProcessed, long cancelled, int maxObservedInFlight, long protocolErrors) {
}
