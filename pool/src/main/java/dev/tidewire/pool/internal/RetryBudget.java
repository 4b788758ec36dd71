package dev.tidewire.pool.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A client-wide bound on retries, as Finagle's {@code RetryBudget}: retries may be at most
 * {@code ratio} of the calls made, plus {@code minPerSecond} each second, so that when a backend
 * refuses everything, retries add at most that share of load instead of multiplying it.
 *
 * <p>A token bucket refilled lazily when a retry asks: every call adds {@code ratio} of a token,
 * every second adds {@code minPerSecond}; a retry takes one. What is unused is capped at what about
 * ten seconds of calls and of the floor give, so a busy hour does not save up a storm of retries. Calls only increment a {@link LongAdder} (no shared write on the hot path);
 * retries, which are rare, synchronize.
 */
public final class RetryBudget {
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Attached (suppressed) to the error of a call that was not retried because the budget was spent. */
    public static final class Exhausted extends RuntimeException {
        public Exhausted(String message) {
            super(message, null, false, false);
        }
    }

    private final double ratio;
    private final int minPerSecond;
    private final LongAdder calls = new LongAdder();
    private long callsSeen;          // guarded by this
    private long refilledNanos;      // guarded by this
    private double tokens;           // guarded by this
    private long granted;            // guarded by this
    private long refused;            // guarded by this

    /**
     * @param ratio        retries allowed per call made, 0..1 (0.2: at most one retry per five calls)
     * @param minPerSecond retries allowed each second whatever the call count (so a client making
     *                     few calls can still retry)
     */
    public RetryBudget(double ratio, int minPerSecond) {
        this.ratio = ratio;
        this.minPerSecond = minPerSecond;
        this.refilledNanos = System.nanoTime();
        this.tokens = minPerSecond; // one second's worth to start with
    }

    /** Records a call (not a retry). Any thread; costs one uncontended add. */
    public void onCall() {
        calls.increment();
    }

    /** Takes a token for one retry; false if the budget is spent. Any thread. */
    public synchronized boolean tryRetry() {
        long now = System.nanoTime();
        long callsNow = calls.sum();
        long newCalls = callsNow - callsSeen;
        callsSeen = callsNow;
        long elapsed = Math.max(1, now - refilledNanos);
        double elapsedSeconds = elapsed / 1e9;
        refilledNanos = now;
        // the calls of about the last ten seconds (those since the refill, scaled down if older)
        double recentCalls = newCalls * Math.min(1.0, (double) WINDOW_NANOS / elapsed);
        double cap = minPerSecond * (WINDOW_NANOS / 1e9) + ratio * recentCalls;
        tokens = Math.min(cap, tokens + ratio * newCalls + minPerSecond * elapsedSeconds);
        if (tokens >= 1) {
            tokens -= 1;
            granted++;
            return true;
        }
        refused++;
        return false;
    }

    @Override
    public synchronized String toString() {
        return "retries ≤ " + Math.round(ratio * 100) + " % of calls + " + minPerSecond + "/s; granted " + granted
                + ", refused " + refused;
    }
}
