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
 * @param startNanos   when the call started
 * @param timeoutNanos how long it may take in all, &gt; 0
 */
public record Deadline(long startNanos, long timeoutNanos) {

    public Deadline {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeout must be > 0, got " + timeoutNanos + " ns");
        }
    }

    /** A deadline {@code timeout} from now. */
    public static Deadline after(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
        }
        return new Deadline(System.nanoTime(), saturatedNanos(timeout));
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

    static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }
}
