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
    public static final CallOptions DEFAULT = new CallOptions(null, null, Metadata.EMPTY, false, null);

    private final Duration timeout;
    private final Deadline deadline;
    private final Metadata metadata;
    private final boolean idempotent;
    private final Duration hedgeAfter;

    private CallOptions(Duration timeout, Deadline deadline, Metadata metadata, boolean idempotent, Duration hedgeAfter) {
        this.timeout = timeout;
        this.deadline = deadline;
        this.metadata = metadata;
        this.idempotent = idempotent;
        this.hedgeAfter = hedgeAfter;
    }

    /** Shorthand for {@code DEFAULT.withIdempotent(idempotent)}. */
    public static CallOptions idempotent(boolean idempotent) {
        return DEFAULT.withIdempotent(idempotent);
    }

    /** Shorthand for {@code DEFAULT.withIdempotent(true).withHedgeAfter(delay)}. */
    public static CallOptions hedgeAfter(Duration delay) {
        return DEFAULT.withIdempotent(true).withHedgeAfter(delay);
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
        return new CallOptions(timeout, deadline, metadata, idempotent, hedgeAfter);
    }

    /**
     * A copy whose call ends no later than {@code deadline} (and no later than its timeout): for
     * passing on a deadline the call inherits, such as a server request's
     * {@link dev.tidewire.server.ServerRequest#deadline()} from a stage that runs after the handler
     * returned. (Inside a handler's own thread the client does this by itself.)
     */
    public CallOptions withDeadline(Deadline deadline) {
        return new CallOptions(timeout, Objects.requireNonNull(deadline, "deadline"), metadata, idempotent, hedgeAfter);
    }

    /**
     * A copy with this call's metadata, sent with the request (after what
     * {@link ClientInterceptor}s add). Servers that announce no metadata support receive the call
     * without it.
     */
    public CallOptions withMetadata(Metadata metadata) {
        return new CallOptions(timeout, deadline, Objects.requireNonNull(metadata, "metadata"), idempotent, hedgeAfter);
    }

    /**
     * A copy marking the call idempotent (or not): sending it twice does no more harm than sending
     * it once. Then the client may send it again, within its deadline and the retry budget, after
     * an outcome that leaves unknown whether the server processed it (its connection broke while it
     * was in flight), and may hedge it ({@link #withHedgeAfter}). Calls the server certainly did not
     * process are retried either way. Not idempotent by default. Turning it off drops a hedge.
     */
    public CallOptions withIdempotent(boolean idempotent) {
        return new CallOptions(timeout, deadline, metadata, idempotent, idempotent ? hedgeAfter : null);
    }

    /**
     * A copy that hedges the call: if no reply has come {@code delay} after it was sent, a second
     * copy goes to another endpoint, and the first reply wins (the other is cancelled). Counted
     * against the client's retry budget; for tail latency across a fleet (docs/fleet.md). Only for
     * idempotent calls.
     *
     * @param delay &gt; 0, e.g. the p95 latency of the op; null removes the hedge
     * @throws IllegalStateException    if the call is not marked {@link #withIdempotent idempotent}
     * @throws IllegalArgumentException if {@code delay} is not positive
     */
    public CallOptions withHedgeAfter(Duration delay) {
        if (delay != null) {
            if (!idempotent) {
                throw new IllegalStateException("hedging sends a call twice: mark it idempotent first"
                        + " (CallOptions.withIdempotent(true))");
            }
            if (delay.isNegative() || delay.isZero()) {
                throw new IllegalArgumentException("hedgeAfter must be > 0, got " + delay);
            }
        }
        return new CallOptions(timeout, deadline, metadata, idempotent, delay);
    }

    /** Whether the call is idempotent (see {@link #withIdempotent}). */
    public boolean idempotent() {
        return idempotent;
    }

    /** The hedging delay, or null for none. */
    public Duration hedgeAfter() {
        return hedgeAfter;
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
                && c.metadata.equals(metadata) && c.idempotent == idempotent && Objects.equals(c.hedgeAfter, hedgeAfter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(timeout, deadline, metadata, idempotent, hedgeAfter);
    }

    @Override
    public String toString() {
        return "CallOptions[timeout=" + (timeout == null ? "default" : timeout)
                + (deadline == null ? "" : ", deadline in " + Duration.ofNanos(deadline.remainingNanos()))
                + (metadata.isEmpty() ? "" : ", " + metadata) + (idempotent ? ", idempotent" : "")
                + (hedgeAfter == null ? "" : ", hedgeAfter=" + hedgeAfter) + "]";
    }
}
