package dev.tidewire.pool.internal;

import java.util.function.DoubleSupplier;

/**
 * When the next connect attempt may start, after failures: exponential backoff with jitter, so a
 * backend restart does not meet a reconnect storm. Time comes in as arguments; randomness is
 * injected, so tests need neither clocks nor luck. Thread-safe.
 *
 * <p>After the k-th consecutive failure the next attempt waits
 * {@code min(max, initial * 2^(k-1)) * (0.5 + 0.5 * random)}: at least half the nominal delay
 * ("equal jitter"), so attempts from many clients spread out yet stay bounded.
 */
public final class ConnectBackoff {
    private final long initialNanos;
    private final long maxNanos;
    private final DoubleSupplier random;
    private int failures;               // guarded by this
    private long nextAttemptNanos;      // guarded by this
    private String lastError = "";      // guarded by this

    public ConnectBackoff(long initialNanos, long maxNanos, DoubleSupplier random) {
        this.initialNanos = initialNanos;
        this.maxNanos = maxNanos;
        this.random = random;
    }

    /** Nanoseconds to wait before an attempt may start at {@code now}; 0 if it may start now. */
    public synchronized long delayNanos(long now) {
        if (failures == 0) {
            return 0;
        }
        return Math.max(0, nextAttemptNanos - now);
    }

    public synchronized void onSuccess() {
        failures = 0;
        lastError = "";
    }

    public synchronized void onFailure(long now, String error) {
        failures++;
        long nominal = initialNanos;
        for (int i = 1; i < failures && nominal < maxNanos; i++) {
            nominal *= 2;
        }
        nominal = Math.min(nominal, maxNanos);
        long delay = (long) (nominal * (0.5 + 0.5 * random.getAsDouble()));
        nextAttemptNanos = now + delay;
        lastError = error;
    }

    public synchronized int failures() {
        return failures;
    }

    public synchronized String lastError() {
        return lastError;
    }
}
