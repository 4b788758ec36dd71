package dev.tidewire.transport;

/**
 * A snapshot of one connection's counters.
 *
 * @param framesWritten  frames handed to the socket
 * @param socketWrites   flushes to the socket (each one write system call, or a few when the
 *                       socket takes less than offered); {@code framesWritten / socketWrites} shows
 *                       how much concurrent calls were coalesced
 * @param framesRead     frames received
 * @param lateResponses  replies that arrived after their call had timed out or been cancelled (dropped)
 * @param inFlight       calls in flight now
 * @param waiting        calls waiting for an in-flight slot or for the outbound budget now
 */
public record ConnectionStats(long framesWritten, long socketWrites, long framesRead, long lateResponses,
                              int inFlight, int waiting) {
}
