package dev.tidewire.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Per-call settings: an immutable value; {@code with*} methods return changed copies.
 *
 * <pre>{@code
 * client.call("report", request, Report.class, CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30)));
 * }</pre>
 */
public final class CallOptions {
    /** No overrides: the client's {@link ClientOptions#requestTimeout()} applies. */
    public static final CallOptions DEFAULT = new CallOptions(null);

    private final Duration timeout;

    private CallOptions(Duration timeout) {
        this.timeout = timeout;
    }

    /** Shorthand for {@code DEFAULT.withTimeout(timeout)}. */
    public static CallOptions timeout(Duration timeout) {
        return DEFAULT.withTimeout(timeout);
    }

    /**
     * A copy with this call's timeout: the whole time the call may take, from the moment it is
     * made (waiting for a connection, for a slot, and for the reply); &gt; 0.
     */
    public CallOptions withTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
        }
        return new CallOptions(timeout);
    }

    /** The timeout override, or null to use the client's. */
    public Duration timeout() {
        return timeout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CallOptions c && Objects.equals(c.timeout, timeout);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(timeout);
    }

    @Override
    public String toString() {
        return "CallOptions[timeout=" + (timeout == null ? "default" : timeout) + "]";
    }
}
