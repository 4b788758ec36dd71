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
 * @param authenticationFailures connections refused because the {@link Authenticator} rejected
 *                               their HELLO credentials (ERROR code 4)
 * @param tlsHandshakeFailures   TLS connections closed because the handshake failed or did not
 *                               finish within the HELLO timeout
 * @param internalErrors         unexpected failures of the server itself: a connection's reader
 *                               crashed (the connection is closed) or a timer task failed (a bug,
 *                               logged at ERROR; zero in a healthy server, whatever clients send)
 * @param deadlineExceeded       requests answered DEADLINE_EXCEEDED (16): their deadline passed
 *                               before the handler ran or answered
 */
public record ServerStats(long connectionsAccepted, int connectionsOpen, long requests, long rejectedOverloaded,
                          long refusedNotProcessed, long cancelled, int maxObservedInFlight, long protocolErrors,
                          long authenticationFailures, long tlsHandshakeFailures, long internalErrors,
                          long deadlineExceeded) {
}
