package dev.tidewire.pool;

import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.ConnectionLostException;
import dev.tidewire.Metadata;
import dev.tidewire.NotProcessedException;
import dev.tidewire.PoolExhaustedException;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.pool.FleetListener.AttemptOutcome;
import dev.tidewire.pool.FleetListener.RetryReason;
import dev.tidewire.pool.internal.RetryBudget;
import dev.tidewire.pool.internal.fleet.Candidates;
import dev.tidewire.protocol.ErrorCode;
import dev.tidewire.transport.Deadline;
import dev.tidewire.transport.internal.Completions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One call balanced across a {@link Fleet}: attempts on endpoints the balancer picks, each made
 * with {@link ConnectionPool#attemptOnce} (the pool does not retry), and retries on other
 * endpoints decided here.
 *
 * <p><b>Which outcomes are sent again</b>, while attempts ({@link FleetOptions#maxAttempts()}),
 * time (the deadline, after a jittered backoff of 0.5 to 50 ms) and the retry budget allow:
 * anything the endpoint certainly did not process (NOT_PROCESSED, OVERLOADED, no connection, a full
 * pool); and, for an idempotent call, a connection lost with the call in flight. A hedge (an
 * idempotent call with {@code hedgeAfter}) sends a second copy to another endpoint when the first
 * has no reply after that delay; it takes a budget token too.
 *
 * <p><b>Invariants.</b> The state below is guarded by {@code this}; attempt completions, hedge
 * timers and cancellation may run on any thread. The call ends exactly once ({@link #finish} is
 * the only place that completes it): with the first reply, or with an error once no attempt is
 * outstanding and no retry is made. Ending it cancels the attempts still outstanding (which sends
 * CANCEL for those already written).
 */
final class FleetCall extends CompletableFuture<byte[]> {
    private final Fleet fleet;
    private final String op;
    private final byte[] body;
    private final Metadata metadata;
    private final Deadline deadline;
    private final boolean idempotent;
    private final long hedgeNanos;
    private final Executor completion;

    // guarded by this
    private final List<FleetMember> tried = new ArrayList<>(2);
    private final List<CompletableFuture<byte[]>> outstanding = new ArrayList<>(2);
    private int attempts;
    private boolean waitingRetry;
    private boolean ended;
    private ScheduledFuture<?> hedgeTimer;

    FleetCall(Fleet fleet, String op, byte[] body, Metadata metadata, Deadline deadline, boolean idempotent,
            long hedgeNanos, Executor completion) {
        this.fleet = fleet;
        this.op = op;
        this.body = body;
        this.metadata = metadata;
        this.deadline = deadline;
        this.idempotent = idempotent;
        this.hedgeNanos = hedgeNanos;
        this.completion = completion;
    }

    String op() {
        return op;
    }

    Deadline deadline() {
        return deadline;
    }

    /** The first attempt (and the hedge timer). */
    void start() {
        send(null);
        if (hedgeNanos > 0 && deadline.remainingNanos() > hedgeNanos) {
            ScheduledFuture<?> t = fleet.timer(this::hedge, hedgeNanos);
            synchronized (this) {
                if (ended) {
                    if (t != null) {
                        t.cancel(false);
                    }
                } else {
                    hedgeTimer = t;
                }
            }
        }
    }

    /** Ends the call with {@code error} unless it has ended (closing, no endpoint known in time). */
    void fail(TidewireException error) {
        finish(null, error);
    }

    /** Makes one attempt on an endpoint not tried yet (if any is left); {@code reason} null for the first. */
    private void send(RetryReason reason) {
        FleetMember member;
        synchronized (this) {
            waitingRetry = false;
            if (ended) {
                return;
            }
            FleetMember[] all = fleet.members();
            if (all.length == 0) {
                member = null;
            } else {
                long now = System.nanoTime();
                List<FleetMember> candidates = Candidates.select(Arrays.asList(all),
                        tried.isEmpty() ? null : tried::contains, now, fleet.slowStartNanos());
                member = candidates.get(fleet.balancer().pick(candidates, now, ThreadLocalRandom.current()));
            }
            if (member != null) {
                attempts++;
                tried.add(member);
            }
        }
        fleet.waiting(this, false);
        if (member == null) {
            finish(null, new ConnectFailedException("op '" + op + "' has no endpoint to go to: the fleet of "
                    + fleet.resolver() + " is empty", null));
            return;
        }
        if (reason != null) {
            fleet.listener().retried(reason);
        }
        member.health().load().begin();
        long start = System.nanoTime();
        CompletableFuture<byte[]> attempt;
        try {
            attempt = member.pool().attemptOnce(op, body, metadata, deadline);
        } catch (RuntimeException e) {
            attempt = CompletableFuture.failedFuture(e);
        }
        boolean cancelNow;
        synchronized (this) {
            cancelNow = ended;
            if (!ended) {
                outstanding.add(attempt);
            }
        }
        if (cancelNow) {
            attempt.cancel(true);
        }
        CompletableFuture<byte[]> self = attempt;
        attempt.whenComplete((value, error) -> ended(member, self, start, value, error));
    }

    /** An attempt ended: record it for the endpoint, then end the call or send it again. */
    private void ended(FleetMember member, CompletableFuture<byte[]> attempt, long start, byte[] value, Throwable error) {
        long now = System.nanoTime();
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        AttemptOutcome outcome = classify(cause);
        long latency = switch (outcome) {
            case SUCCESS, REMOTE_ERROR, SERVER_ERROR, TIMEOUT, CONNECTION_LOST -> now - start;
            default -> -1; // says nothing of the endpoint's speed
        };
        member.health().load().end(latency, now,
                outcome == AttemptOutcome.TIMEOUT || outcome == AttemptOutcome.CONNECTION_LOST);
        switch (outcome) {
            case SUCCESS, REMOTE_ERROR -> member.health().success();
            case SERVER_ERROR, TIMEOUT, CONNECTION_LOST, CONNECT_FAILED -> member.health().failure();
            default -> {
            }
        }
        fleet.listener().attemptEnded(member.endpoint(), outcome);
        if (error == null) {
            finish(value, null);
            return;
        }
        RetryReason retry = switch (outcome) {
            case NOT_PROCESSED, CONNECT_FAILED -> RetryReason.NOT_PROCESSED;
            case SERVER_ERROR -> cause instanceof TidewireException t && t.retryable() ? RetryReason.NOT_PROCESSED : null;
            case CONNECTION_LOST -> idempotent ? RetryReason.IDEMPOTENT : null;
            default -> null;
        };
        boolean last;
        long delay = 0;
        synchronized (this) {
            outstanding.remove(attempt);
            if (ended) {
                return;
            }
            if (retry != null && attempts < fleet.maxAttempts() && !fleet.closed()) {
                // no connection, and no endpoint left untried: wait until that pool's backoff lets it
                // try again (as a single endpoint's pool does); otherwise a short jittered pause
                delay = outcome == AttemptOutcome.CONNECT_FAILED && tried.size() >= fleet.members().length
                        ? member.pool().connectRetryDelayNanos() : ConnectionPool.notProcessedDelayNanos(attempts);
                if (deadline.remainingNanos() <= delay) {
                    retry = null;
                }
            } else {
                retry = null;
            }
            last = outstanding.isEmpty();
            if (retry != null && !last) {
                retry = null; // a hedge is still out: let it decide
            }
        }
        if (retry != null) {
            if (!fleet.tryRetry()) {
                cause.addSuppressed(new RetryBudget.Exhausted("not retried on another endpoint: the client's retry"
                        + " budget is spent (" + fleet.budget() + ")"));
            } else if (scheduleRetry(retry, delay, cause)) {
                return;
            }
        }
        if (last) {
            finish(null, cause);
        }
    }

    private boolean scheduleRetry(RetryReason reason, long delayNanos, Throwable cause) {
        synchronized (this) {
            if (ended) {
                return true;
            }
            waitingRetry = true;
        }
        fleet.waiting(this, true);
        if (!fleet.later(() -> {
            if (fleet.closed()) {
                finish(null, new ClientClosedException("the client was closed while op '" + op
                        + "' waited to be retried (it had not been processed)"));
            } else {
                send(reason);
            }
        }, delayNanos)) {
            fleet.waiting(this, false);
            synchronized (this) {
                waitingRetry = false;
            }
            return false;
        }
        return true;
    }

    /** The hedge timer: a second copy on another endpoint if the first has no reply yet. */
    private void hedge() {
        synchronized (this) {
            if (ended || waitingRetry || outstanding.size() != 1 || attempts >= fleet.maxAttempts()) {
                return;
            }
        }
        if (fleet.tryRetry()) {
            // on the callback pool: choosing and sending may borrow, and a timer must not wait
            fleet.later(() -> send(RetryReason.HEDGE), 0);
        }
    }

    static AttemptOutcome classify(Throwable cause) {
        if (cause == null) {
            return AttemptOutcome.SUCCESS;
        }
        if (cause instanceof RemoteException r) {
            return switch (r.code()) {
                case ErrorCode.OVERLOADED, ErrorCode.INTERNAL -> AttemptOutcome.SERVER_ERROR;
                case ErrorCode.NOT_PROCESSED -> AttemptOutcome.NOT_PROCESSED;
                default -> AttemptOutcome.REMOTE_ERROR;
            };
        }
        if (cause instanceof RequestTimeoutException) {
            return AttemptOutcome.TIMEOUT;
        }
        if (cause instanceof NotProcessedException || cause instanceof PoolExhaustedException) {
            return AttemptOutcome.NOT_PROCESSED;
        }
        if (cause instanceof ConnectFailedException) {
            return AttemptOutcome.CONNECT_FAILED;
        }
        if (cause instanceof ConnectionLostException) {
            return AttemptOutcome.CONNECTION_LOST;
        }
        if (cause instanceof CancellationException || cause instanceof ClientClosedException) {
            return AttemptOutcome.CANCELLED;
        }
        return AttemptOutcome.REMOTE_ERROR; // anything else (a TLS or protocol failure) ends the call as it is
    }

    /** Ends the call once; cancels what is still outstanding. */
    private void finish(byte[] value, Throwable error) {
        List<CompletableFuture<byte[]>> cancel;
        ScheduledFuture<?> timer;
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            cancel = new ArrayList<>(outstanding);
            outstanding.clear();
            timer = hedgeTimer;
        }
        fleet.waiting(this, false);
        if (timer != null) {
            timer.cancel(false);
        }
        for (CompletableFuture<byte[]> f : cancel) {
            f.cancel(true);
        }
        Completions.complete(this, value, error, completion, fleet.callbackExecutor(), "a fleet call");
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            finish(null, new CancellationException("cancelled")); // ends the attempts; the future is already cancelled
        }
        return cancelled;
    }
}
