package dev.tidewire.transport.internal;

import dev.tidewire.Metadata;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.transport.Deadline;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One call on a {@link MultiplexedConnection}, and the future its caller holds.
 *
 * <p>Claiming: {@link #claim()} moves {@code state} to DONE with one CAS. Exactly one party wins it
 * (the reply, the timeout, a cancel, or the connection failing) and only the winner completes the
 * future; losers drop what they had (a reply that loses is a late response).
 *
 * <p>States: QUEUED (created; on the connection's submission queue or waiting for an in-flight
 * slot) &rarr; SENT (given an id, registered, written to the channel) &rarr; DONE. The event loop
 * moves a call from QUEUED to SENT with a CAS, so a call claimed while QUEUED is never written,
 * and a party that claims a SENT call knows its request went out and holds a slot.
 *
 * <p>Thread ownership: {@code id}, {@code sent} and {@code waitTimer} are written and read only on
 * the connection's event loop. Every claim except {@link #cancel} happens on the loop; a cancel
 * from another thread claims, completes the future, and hands the clean-up (CANCEL frame, slot,
 * registration) to the loop ({@link MultiplexedConnection#afterCancel}).
 */
public final class PendingCall extends CompletableFuture<byte[]> {
    static final int QUEUED = 0;
    static final int SENT = 1;
    static final int DONE = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(PendingCall.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MultiplexedConnection connection;
    private final String op;
    private final byte[] opBytes;
    private final byte[] body;
    private final Metadata metadata; // null: a plain REQUEST (the server announced no metadata support)
    private final Deadline deadline;
    private final long deadlineNanos;
    private final Executor completion;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;

    // event loop only
    long id;
    boolean sent;
    ScheduledFuture<?> waitTimer;

    PendingCall(MultiplexedConnection connection, String op, byte[] opBytes, byte[] body, Metadata metadata,
            Deadline deadline, Executor completion) {
        this.connection = connection;
        this.op = op;
        this.opBytes = opBytes;
        this.body = body;
        this.metadata = metadata;
        this.deadline = deadline;
        this.deadlineNanos = deadline.deadlineNanos();
        this.completion = completion;
    }

    String op() {
        return op;
    }

    byte[] opBytes() {
        return opBytes;
    }

    byte[] body() {
        return body;
    }

    /** The metadata to send in a REQUEST_EXT, or null to send a plain REQUEST. */
    Metadata metadata() {
        return metadata;
    }

    boolean isExpired(long nowNanos) {
        return deadlineNanos - nowNanos <= 0;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** Whether the call has been claimed (it may still be completing). */
    boolean isClaimed() {
        return (int) STATE.getVolatile(this) == DONE;
    }

    /**
     * QUEUED to SENT, on the loop, after the id was assigned and registered; false if the call was
     * claimed meanwhile (then it must not be written).
     */
    boolean markSent() {
        return STATE.compareAndSet(this, QUEUED, SENT);
    }

    /** CAS to DONE; the state before, or DONE if another party had already claimed the call. */
    int claim() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s == DONE) {
                return DONE;
            }
            if (STATE.compareAndSet(this, s, DONE)) {
                connection.onClaimed();
                return s;
            }
        }
    }

    /** The reply arrived (loop). Returns false if the call had already ended (a late response). */
    boolean succeed(byte[] payload) {
        int prior = claim();
        if (prior == DONE) {
            return false;
        }
        connection.releaseOnLoop(this, prior);
        deliver(payload, null);
        return true;
    }

    /** Ends the call with {@code error} if nobody else has ended it (loop). */
    boolean fail(TidewireException error) {
        int prior = claim();
        if (prior == DONE) {
            return false;
        }
        connection.releaseOnLoop(this, prior);
        deliver(null, error);
        return true;
    }

    /**
     * The deadline passed (loop); {@code detail} says what an unsent call was waiting for. CANCEL is
     * written <em>before</em> the in-flight slot is returned: the slot may admit a waiting call at
     * once, and its REQUEST must not reach a server at its in-flight limit ahead of the CANCEL that
     * frees the server's slot.
     */
    void timeout(long nowNanos, String detail) {
        int prior = claim();
        if (prior == DONE) {
            return;
        }
        boolean wasSent = prior == SENT;
        if (wasSent) {
            connection.timeoutsSinceReply++; // on the loop: the timer tick is the only caller
        }
        connection.releaseOnLoop(this, prior);
        deliver(null, new RequestTimeoutException(op, id, deadline.elapsed(nowNanos), deadline.limit(), wasSent,
                detail));
    }

    /** The timeout of a sent call, as the server reported it (ERROR 16 DEADLINE_EXCEEDED). */
    RequestTimeoutException timedOut(long nowNanos) {
        return new RequestTimeoutException(op, id, deadline.elapsed(nowNanos), deadline.limit(), true, "");
    }

    /** Cancelling the caller's future ends the call and sends CANCEL if the request went out. Any thread. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        int prior = claim();
        if (prior == DONE) {
            return isCancelled();
        }
        super.cancel(mayInterruptIfRunning);
        connection.afterCancel(this, prior);
        return true;
    }

    private void deliver(byte[] value, Throwable error) {
        Completions.complete(this, value, error, completion, connection.fallbackExecutor(), "op '" + op + "'");
    }

    @Override
    public String toString() {
        return "call[op=" + op + ", id=" + id + ", state=" + (int) STATE.getVolatile(this) + ", sent=" + sent + "]";
    }
}
