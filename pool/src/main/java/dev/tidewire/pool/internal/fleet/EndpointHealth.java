package dev.tidewire.pool.internal.fleet;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What outlier detection knows of one endpoint: outcomes in the current interval, consecutive
 * connection failures, and whether (until when) it is ejected. Recording is lock-free and cheap
 * (the calls' hot path); decisions are the {@link OutlierDetector}'s.
 *
 * <p>Outcomes are counted only where they say something about the endpoint: a reply, including
 * an application's error reply, is a success; a timeout, a lost connection, a failed connect, or
 * an OVERLOADED or INTERNAL answer is a failure; a request refused before it was processed by a
 * draining server (NOT_PROCESSED) is neither.
 */
public final class EndpointHealth {
    private final EndpointLoad load;
    private final LongAdder successes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicLong ejectedUntil = new AtomicLong(); // 0: in service
    private volatile long returnedNanos = Long.MIN_VALUE / 4;
    int ejections;        // guarded by the detector: the current run of ejections (sets the next's length)
    long totalEjections;  // guarded by the detector

    public EndpointHealth(EndpointLoad load) {
        this.load = load;
    }

    /** The balancer's view of the same endpoint. */
    public EndpointLoad load() {
        return load;
    }

    /** A reply (value or an application's error). */
    public void success() {
        successes.increment();
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /** A connection to the endpoint opened: ends a run of connection failures. */
    public void connected() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /** A failure that is the endpoint's (timeout, OVERLOADED, INTERNAL), not a connection failure. */
    public void failure() {
        failures.increment();
    }

    /** A failed connect or a lost connection; returns the run of such failures so far. */
    public int connectionFailure() {
        failures.increment();
        return consecutiveFailures.incrementAndGet();
    }

    /** Consecutive connection failures so far. */
    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    /**
     * Whether the endpoint is ejected now. An ejection whose time is up ends here (whichever
     * thread looks first), and the endpoint starts a slow start of {@code slowStartNanos}.
     */
    public boolean ejected(long now, long slowStartNanos) {
        long until = ejectedUntil.get();
        if (until == 0) {
            return false;
        }
        if (now - until < 0) {
            return true;
        }
        if (ejectedUntil.compareAndSet(until, 0)) {
            returnedNanos = now;
            consecutiveFailures.set(0);
            load.warmUp(now, slowStartNanos);
        }
        return false;
    }

    /** Ejects until {@code untilNanos}; false if already ejected. Called by the detector. */
    boolean eject(long untilNanos) {
        return ejectedUntil.compareAndSet(0, untilNanos == 0 ? 1 : untilNanos);
    }

    /** When the endpoint last came back from an ejection. */
    long returnedNanos() {
        return returnedNanos;
    }

    int window;           // guarded by the detector: intervals the current counts span

    /** The counts since the last {@link #resetCounts}: {@code [successes, failures]}. */
    long[] counts() {
        return new long[] {successes.sum(), failures.sum()};
    }

    /** Starts new counts (outcomes recorded meanwhile may land in either; the estimate allows it). */
    void resetCounts() {
        successes.reset();
        failures.reset();
        window = 0;
    }

    /** Ejections of this endpoint so far. */
    public synchronized long totalEjections() {
        return totalEjections;
    }
}
