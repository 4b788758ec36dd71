package dev.tidewire.transport.internal;

import dev.tidewire.NotProcessedException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.protocol.FrameEncoder;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.protocol.Protocol;
import dev.tidewire.protocol.RequestPayload;
import dev.tidewire.transport.Deadline;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One call on a {@link MultiplexedConnection}, and the future its caller holds.
 *
 * <p>Claiming: {@link #finish()} moves {@code state} to DONE with one CAS. Exactly one party wins
 * it (the reply, the timeout, a cancel, or the connection failing) and only the winner completes
 * the future; losers drop what they had (a reply that loses is a late response).
 *
 * <p>States: QUEUED (waiting for an in-flight slot) &rarr; ADMITTED (holds a slot; queued for the
 * writer, then registered under its id) &rarr; DONE. Whoever finishes an ADMITTED call returns its
 * slot, so slots are returned exactly once.
 *
 * <p>{@code id} and {@code sent} are written by the writer thread in {@link #prepare()} and read by
 * any thread that finishes the call. {@code sent} is written before {@code state} is re-read, and
 * {@link #timeout} CASes {@code state} before reading {@code sent}, so a timeout that reports
 * "not sent" is never followed by the request being written.
 */
public final class PendingCall extends CompletableFuture<byte[]> implements Outbound {
    static final int QUEUED = 0;
    static final int ADMITTED = 1;
    static final int DONE = 2;

    private final MultiplexedConnection connection;
    private final String op;
    private final byte[] opBytes;
    private final byte[] body;
    private final Deadline deadline;
    private final long deadlineNanos;
    private final Executor completion;
    private final AtomicInteger state = new AtomicInteger(QUEUED);
    private volatile long id;
    private volatile boolean sent;

    PendingCall(MultiplexedConnection connection, String op, byte[] opBytes, byte[] body, Deadline deadline,
            Executor completion) {
        this.connection = connection;
        this.op = op;
        this.opBytes = opBytes;
        this.body = body;
        this.deadline = deadline;
        this.deadlineNanos = deadline.deadlineNanos();
        this.completion = completion;
    }

    String op() {
        return op;
    }

    long id() {
        return id;
    }

    boolean sent() {
        return sent;
    }

    boolean isExpired(long nowNanos) {
        return deadlineNanos - nowNanos <= 0;
    }

    boolean isFinished() {
        return state.get() == DONE;
    }

    /** Still waiting for an in-flight slot. */
    boolean isQueued() {
        return state.get() == QUEUED;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** QUEUED to ADMITTED; false if the call ended meanwhile. */
    boolean admit() {
        return state.compareAndSet(QUEUED, ADMITTED);
    }

    /** Claims the call. Returns true to exactly one caller, which must then complete the future. */
    boolean finish() {
        int prior = claim();
        if (prior == DONE) {
            return false;
        }
        connection.onCallFinished(this, prior == ADMITTED);
        return true;
    }

    /** CAS to DONE; the state before, or DONE if another party had already claimed the call. */
    private int claim() {
        for (;;) {
            int s = state.get();
            if (s == DONE || state.compareAndSet(s, DONE)) {
                return s;
            }
        }
    }

    /**
     * Ends a call the caller gave up on. CANCEL is queued <em>before</em> the in-flight slot is
     * returned: the slot may admit a waiting call at once, and its REQUEST must not reach a server
     * at its in-flight limit ahead of the CANCEL that frees the server's slot.
     */
    private boolean abandonWithCancel(Function<Boolean, Throwable> error, boolean mayInterrupt) {
        int prior = claim();
        if (prior == DONE) {
            return false;
        }
        boolean wasSent = sent; // read after the claim: see the class comment
        if (wasSent) {
            connection.sendCancel(id);
        }
        connection.onCallFinished(this, prior == ADMITTED);
        if (error == null) {
            super.cancel(mayInterrupt);
        } else {
            failClaimed(error.apply(wasSent));
        }
        return true;
    }

    /** The reply arrived. Returns false if the call had already ended (a late response). */
    boolean succeed(byte[] payload) {
        if (!finish()) {
            return false;
        }
        if (completion == null) {
            super.complete(payload);
        } else {
            try {
                completion.execute(() -> super.complete(payload));
            } catch (RejectedExecutionException e) {
                super.complete(payload);
            }
        }
        return true;
    }

    /** Ends the call with {@code error} if nobody else has ended it. */
    boolean fail(TidewireException error) {
        if (!finish()) {
            return false;
        }
        failClaimed(error);
        return true;
    }

    private void failClaimed(Throwable error) {
        if (completion == null) {
            super.completeExceptionally(error);
        } else {
            try {
                completion.execute(() -> super.completeExceptionally(error));
            } catch (RejectedExecutionException e) {
                super.completeExceptionally(error);
            }
        }
    }

    /** The deadline passed; {@code detail} says what an unsent call was waiting for. */
    void timeout(long nowNanos, String detail) {
        abandonWithCancel(wasSent -> new RequestTimeoutException(op, id, deadline.elapsed(nowNanos), deadline.limit(),
                wasSent, detail), false);
    }

    /** Cancelling the caller's future ends the call and sends CANCEL if the request went out. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return abandonWithCancel(null, mayInterruptIfRunning) || isCancelled();
    }

    // ---- Outbound: called only by the writer thread ----

    @Override
    public boolean prepare() {
        if (state.get() != ADMITTED) {
            return false;
        }
        TidewireException refusal = connection.refusalBeforeWrite();
        if (refusal != null) {
            fail(refusal);
            return false;
        }
        long newId = connection.register(this);
        if (newId < 0) {
            fail(new NotProcessedException("op '" + op + "' was not sent: " + connection.describeClosed(),
                    connection.closeReason()));
            return false;
        }
        this.id = newId;
        sent = true;
        if (state.get() == DONE) {
            connection.unregister(newId, this);
            return false;
        }
        return true;
    }

    @Override
    public int encodedLength() {
        return Protocol.HEADER_LENGTH + RequestPayload.length(opBytes, body);
    }

    @Override
    public void encodeTo(ByteBuffer out) {
        FrameEncoder.writeHeader(out, FrameType.REQUEST, id, RequestPayload.length(opBytes, body));
        RequestPayload.write(out, opBytes, body);
    }

    @Override
    public void abandon() {
        fail(new NotProcessedException("op '" + op + "' was not sent: " + connection.describeClosed(),
                connection.closeReason()));
    }

    @Override
    public String toString() {
        return "call[op=" + op + ", id=" + id + ", state=" + state.get() + ", sent=" + sent + "]";
    }
}
