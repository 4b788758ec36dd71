package dev.tidewire.transport;

import java.time.Duration;
import java.util.Objects;

/**
 * The point in time by which a call must end, fixed once at the API boundary and spent by every
 * layer below it (waiting for a pooled connection, for an in-flight slot, for the reply).
 * Times are {@link System#nanoTime()} readings.
 *
 * <pre>{@code
 * Deadline d = Deadline.after(Duration.ofSeconds(2));
 * connection.call("echo", body, d, null);
 * }</pre>
 *
 * <p>A timeout longer than {@link #MAX_TIMEOUT_NANOS} (about 73 years) means "no practical
 * limit" and is shortened to it, so that no sum of {@code nanoTime} readings and timeouts
 * overflows: {@code Duration.ofMillis(Long.MAX_VALUE)} or {@code Long.MAX_VALUE} nanoseconds are
 * valid timeouts.
 *
 * @param startNanos   when the call started
 * @param timeoutNanos how long it may take in all, &gt; 0 (longer than {@link #MAX_TIMEOUT_NANOS}
 *                     is shortened to it)
 */
public record Deadline(long startNanos, long timeoutNanos) {
    /** The longest timeout kept as given: {@code Long.MAX_VALUE / 4} ns, about 73 years. */
    public static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 4;

    /**
     * Shortens a timeout over {@link #MAX_TIMEOUT_NANOS} to it.
     *
     * @throws IllegalArgumentException if {@code timeoutNanos} is not positive
     */
    public Deadline {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeout must be > 0, got " + timeoutNanos + " ns");
        }
        timeoutNanos = Math.min(timeoutNanos, MAX_TIMEOUT_NANOS);
    }

    /** A deadline {@code timeout} from {@code startNanos}; see the class comment for very long ones. */
    public static Deadline of(long startNanos, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
        }
        return new Deadline(startNanos, saturatedNanos(timeout));
    }

    /** A deadline {@code timeout} from now. */
    public static Deadline after(Duration timeout) {
        return of(System.nanoTime(), timeout);
    }

    /** The {@link System#nanoTime()} value at which the deadline passes. */
    public long deadlineNanos() {
        return startNanos + timeoutNanos;
    }

    /** Nanoseconds left at {@code nowNanos}; zero or negative once passed. */
    public long remainingNanos(long nowNanos) {
        return deadlineNanos() - nowNanos;
    }

    /** Nanoseconds left now. */
    public long remainingNanos() {
        return remainingNanos(System.nanoTime());
    }

    /** Whether the deadline has passed at {@code nowNanos}. */
    public boolean isExpired(long nowNanos) {
        return remainingNanos(nowNanos) <= 0;
    }

    /** The whole timeout. */
    public Duration limit() {
        return Duration.ofNanos(timeoutNanos);
    }

    /** Time since the start, at {@code nowNanos}. */
    public Duration elapsed(long nowNanos) {
        return Duration.ofNanos(nowNanos - startNanos);
    }

    /** {@code d} in nanoseconds, at most {@link #MAX_TIMEOUT_NANOS}: never an overflow. */
    public static long saturatedNanos(Duration d) {
        try {
            return Math.min(d.toNanos(), MAX_TIMEOUT_NANOS);
        } catch (ArithmeticException e) {
            return MAX_TIMEOUT_NANOS;
        }
    }
}
