package dev.tidewire.client;

import dev.tidewire.Metadata;
import dev.tidewire.transport.Deadline;
import java.time.Duration;
import java.util.Objects;

/**
 * Per-call settings: an immutable value; {@code with*} methods return changed copies.
 *
 * <pre>{@code
 * client.call("report", request, Report.class, CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30)));
 * client.call("get", key, Item.class, CallOptions.metadata(Metadata.of("tenant", "acme")));
 * }</pre>
 */
public final class CallOptions {
    /** No overrides: the client's {@link ClientOptions#requestTimeout()} applies, no metadata. */
    public static final CallOptions DEFAULT = new CallOptions(null, null, Metadata.EMPTY);

    private final Duration timeout;
    private final Deadline deadline;
    private final Metadata metadata;

    private CallOptions(Duration timeout, Deadline deadline, Metadata metadata) {
        this.timeout = timeout;
        this.deadline = deadline;
        this.metadata = metadata;
    }

    /** Shorthand for {@code DEFAULT.withTimeout(timeout)}. */
    public static CallOptions timeout(Duration timeout) {
        return DEFAULT.withTimeout(timeout);
    }

    /** Shorthand for {@code DEFAULT.withMetadata(metadata)}. */
    public static CallOptions metadata(Metadata metadata) {
        return DEFAULT.withMetadata(metadata);
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
        return new CallOptions(timeout, deadline, metadata);
    }

    /**
     * A copy whose call ends no later than {@code deadline} (and no later than its timeout): for
     * passing on a deadline the call inherits, such as a server request's
     * {@link dev.tidewire.server.ServerRequest#deadline()} from a stage that runs after the handler
     * returned. (Inside a handler's own thread the client does this by itself.)
     */
    public CallOptions withDeadline(Deadline deadline) {
        return new CallOptions(timeout, Objects.requireNonNull(deadline, "deadline"), metadata);
    }

    /**
     * A copy with this call's metadata, sent with the request (after what
     * {@link ClientInterceptor}s add). Servers that announce no metadata support receive the call
     * without it.
     */
    public CallOptions withMetadata(Metadata metadata) {
        return new CallOptions(timeout, deadline, Objects.requireNonNull(metadata, "metadata"));
    }

    /** The timeout override, or null to use the client's. */
    public Duration timeout() {
        return timeout;
    }

    /** The deadline set by {@link #withDeadline}, or null. */
    public Deadline deadline() {
        return deadline;
    }

    /** The call's metadata ({@link Metadata#EMPTY} unless set). */
    public Metadata metadata() {
        return metadata;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CallOptions c && Objects.equals(c.timeout, timeout) && Objects.equals(c.deadline, deadline)
                && c.metadata.equals(metadata);
    }

    @Override
    public int hashCode() {
        return Objects.hash(timeout, deadline, metadata);
    }

    @Override
    public String toString() {
        return "CallOptions[timeout=" + (timeout == null ? "default" : timeout)
                + (deadline == null ? "" : ", deadline in " + Duration.ofNanos(deadline.remainingNanos()))
                + (metadata.isEmpty() ? "" : ", " + metadata) + "]";
    }
}
