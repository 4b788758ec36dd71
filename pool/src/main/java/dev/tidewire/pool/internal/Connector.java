package dev.tidewire.pool.internal;

import dev.tidewire.AuthenticationException;
import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.TidewireException;
import dev.tidewire.TlsException;
import dev.tidewire.pool.PoolListener;
import dev.tidewire.transport.Connection;
import dev.tidewire.transport.ConnectionOptions;
import dev.tidewire.transport.TransportResources;
import dev.tidewire.transport.internal.RateLimitedLog;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Opens a pool's connections to one endpoint: <b>one attempt at a time</b>, each with the full
 * {@link ConnectionOptions#connectTimeout()}, behind a jittered {@link ConnectBackoff}, and never
 * on a caller's thread.
 *
 * <p>Why: a connect bounded by the remaining deadline of the call that happened to trigger it
 * fails whenever that call is nearly out of time, and such failures fed the backoff, which grew,
 * so after an outage no attempt ever got a full connect timeout while load lasted (a reconnect
 * livelock). Here the attempt is the endpoint's, not the call's: calls wait for it within their
 * own deadlines ({@link Pending}) and may give up; the attempt goes on, and its connection joins
 * the pool through {@code adopt}.
 *
 * <p>Background reconnection: after a failed attempt, or a lost connection, the next attempt is
 * scheduled when the backoff allows, as long as {@code wanted} says the pool has fewer live
 * connections than it needs. So recovery after an outage does not wait for a call to come by.
 *
 * <p>Threads: {@link #pending()} and {@link #request()} may be called from any thread and never
 * wait (a short monitor guards the attempt state). An attempt completes on an event loop, which
 * only records the outcome; adoption runs on the callback pool (commons-pool2's {@code addObject}
 * takes its locks).
 */
public final class Connector {
    private final EndpointEvents events;
    private static final System.Logger LOG = System.getLogger(Connector.class.getName());
    private final InetSocketAddress address;
    private final ConnectionOptions options;
    private final TransportResources resources;
    private final Executor background;
    private final PoolListener listener;
    private final ConnectBackoff backoff;
    private final Consumer<Connection> adopt;
    private final BooleanSupplier wanted;
    private final AtomicLong attempts = new AtomicLong();
    // connect failures: the first a WARNING, repeats at DEBUG and summarized once per window
    private final RateLimitedLog failures = new RateLimitedLog(LOG);
    private final String failureKind;
    private final long maxBackoffMillis;
    private final Object lock = new Object();
    private Attempt current;              // guarded by lock: in progress, or null
    private boolean retryScheduled;       // guarded by lock
    private boolean closed;               // guarded by lock
    private boolean demanded;             // guarded by lock: a call found no connection since the last attempt
    // The last connect failure, if it was one that retrying cannot fix (credentials, TLS).
    private volatile TidewireException lastPermanentFailure;

    /** One connect attempt; {@link #settled} completes once its connection is in the pool, or it failed. */
    public static final class Attempt {
        final CompletableFuture<Connection> connection;
        final CompletableFuture<Void> settled = new CompletableFuture<>();
        final long startedNanos = System.nanoTime();

        Attempt(CompletableFuture<Connection> connection) {
            this.connection = connection;
        }

        /** Completes when the attempt is over: its connection joined the pool, or it failed. Never exceptionally. */
        public CompletableFuture<Void> settled() {
            return settled;
        }

        /** How long the attempt has been under way. */
        public long ageNanos() {
            return System.nanoTime() - startedNanos;
        }
    }

    /**
     * Thrown by {@code makeObject} when the pool needs a connection that is not there yet: an
     * attempt is under way and the call may wait for {@link Attempt#settled()} within its deadline.
     * Internal: it never reaches a caller. No stack trace (it is control flow).
     */
    public static final class Pending extends RuntimeException {
        private final transient Attempt attempt;

        Pending(Attempt attempt) {
            super("a connect attempt is under way", null, false, false);
            this.attempt = attempt;
        }

        /** The attempt to wait for. */
        public Attempt attempt() {
            return attempt;
        }
    }

    /**
     * @param adopt  puts a new connection into the pool; runs on {@code background}; must close it
     *               if the pool has no room or is closed
     * @param wanted whether the pool has fewer live connections than it needs (asked before each
     *               background attempt)
     */
    public Connector(InetSocketAddress address, ConnectionOptions options, TransportResources resources,
            Executor background, PoolListener listener, Duration backoffInitial, Duration backoffMax,
            Consumer<Connection> adopt, BooleanSupplier wanted) {
        this(address, options, resources, background, listener, backoffInitial, backoffMax, adopt, wanted,
                EndpointEvents.NONE);
    }

    /** As above, also telling {@code events} of each connect attempt that failed (fleet health). */
    public Connector(InetSocketAddress address, ConnectionOptions options, TransportResources resources,
            Executor background, PoolListener listener, Duration backoffInitial, Duration backoffMax,
            Consumer<Connection> adopt, BooleanSupplier wanted, EndpointEvents events) {
        this.address = address;
        this.options = options;
        this.resources = resources;
        this.background = background;
        this.listener = listener;
        this.backoff = new ConnectBackoff(backoffInitial.toNanos(), backoffMax.toNanos(),
                () -> ThreadLocalRandom.current().nextDouble());
        this.adopt = adopt;
        this.wanted = wanted;
        this.maxBackoffMillis = backoffMax.toMillis();
        this.events = events;
        this.failureKind = "connect to " + address;
    }

    /**
     * What a caller that needs a new connection gets: a {@link Pending} for the attempt under way
     * (started now if the backoff allows), or, while backing off, the typed failure to report
     * (the same non-retryable type after refused credentials or a failed TLS handshake). Returned,
     * not thrown, so the caller decides. Never waits.
     */
    public RuntimeException pending() {
        synchronized (lock) {
            if (closed) {
                return new ClientClosedException("the connection pool to " + address + " is closed");
            }
            if (current != null) {
                return new Pending(current);
            }
            long wait = backoff.delayNanos(System.nanoTime());
            if (wait <= 0) {
                return new Pending(start());
            }
            demanded = true; // the attempt the backoff allows next is made even if the pool is not below its minimum
            scheduleRetry(wait);
            String why = "not connecting to " + address + " for another " + TimeUnit.NANOSECONDS.toMillis(wait)
                    + " ms after " + backoff.failures() + " failed attempts (last: " + backoff.lastError() + ")";
            listener.connectFailed();
            TidewireException permanent = lastPermanentFailure;
            if (permanent instanceof AuthenticationException) {
                return new AuthenticationException(why, null);
            }
            if (permanent instanceof TlsException) {
                return new TlsException(why, null);
            }
            return new ConnectFailedException(why, null);
        }
    }

    /**
     * Makes sure an attempt is under way or scheduled (when the backoff allows), if the pool wants
     * one. For connections lost and pools below their minimum. Never waits.
     */
    public void request() {
        synchronized (lock) {
            if (closed || current != null || retryScheduled || !(demanded || wanted.getAsBoolean())) {
                return;
            }
            long wait = backoff.delayNanos(System.nanoTime());
            if (wait > 0) {
                scheduleRetry(wait);
            } else {
                start();
            }
        }
    }

    /**
     * Asks for one more connection even though the pool is not below its minimum (it is not full,
     * and calls want more): an attempt now, or when the backoff allows. Never waits.
     */
    public void grow() {
        synchronized (lock) {
            if (closed || current != null) {
                return;
            }
            demanded = true;
        }
        request();
    }

    /**
     * A connection this connector opened broke soon after it opened (corrupted bytes, a server
     * that accepts then fails): that counts as a failed attempt for the backoff, so a path that
     * breaks every connection at once is not met by a reconnect per few milliseconds.
     */
    public void brokeSoonAfterOpening(String why) {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        backoff.onFailure(System.nanoTime(), why);
    }

    /**
     * The endpoint drained a connection after its GOAWAY: it is probably restarting, so connect
     * failures in the next {@link RateLimitedLog#WINDOW} are expected and logged at DEBUG; if
     * they go on past it, their summary is a WARNING.
     */
    public void serverWentAway() {
        failures.expect(failureKind);
    }

    /** Nanoseconds until an attempt may start (0 when not backing off). */
    public long backoffNanos() {
        return backoff.delayNanos(System.nanoTime());
    }

    /** Attempts started so far. */
    public long attempts() {
        return attempts.get();
    }

    /** Whether an attempt is under way now. */
    public boolean connecting() {
        synchronized (lock) {
            return current != null;
        }
    }

    /**
     * Stops: no more attempts; the one under way is abandoned (its socket closed, and a connection
     * its handshake still makes is closed at once). Idempotent.
     */
    public void close() {
        Attempt abandoned;
        synchronized (lock) {
            closed = true;
            abandoned = current;
        }
        if (abandoned != null) {
            abandoned.connection.completeExceptionally(
                    new ClientClosedException("the connection pool to " + address + " closed while connecting"));
        }
    }

    // guarded by lock
    private Attempt start() {
        attempts.incrementAndGet();
        demanded = false;
        Attempt a = new Attempt(Connection.connect(address, options, resources));
        current = a;
        a.connection.whenComplete((c, e) -> finished(a, c, e));
        return a;
    }

    private void endAttempt(Attempt a) {
        synchronized (lock) {
            if (current == a) {
                current = null;
            }
        }
        a.settled.complete(null);
    }

    // guarded by lock
    private void scheduleRetry(long waitNanos) {
        if (retryScheduled || closed) {
            return;
        }
        retryScheduled = true;
        // a little extra jitter, so many pools behind one backoff schedule do not fire together
        long delay = waitNanos + ThreadLocalRandom.current().nextLong(Math.max(1, waitNanos / 10));
        try {
            resources.schedule(() -> {
                synchronized (lock) {
                    retryScheduled = false;
                }
                request();
            }, Duration.ofNanos(delay));
        } catch (RejectedExecutionException e) {
            retryScheduled = false; // shutting down
        }
    }

    /** On the event loop (or the closing thread): records the outcome; adoption goes to the callback pool. */
    private void finished(Attempt a, Connection c, Throwable error) {
        boolean closedNow;
        synchronized (lock) {
            // a success stays the current attempt until its connection is in the pool: a call
            // that finds no idle connection meanwhile waits for it rather than starting another
            if (current == a && (error != null || closed)) {
                current = null;
            }
            closedNow = closed;
        }
        if (error == null) {
            lastPermanentFailure = null;
            backoff.onSuccess();
            if (!closedNow) {
                failures.recovered(failureKind, "connected to " + address);
            }
            if (closedNow) {
                c.close();
                endAttempt(a);
                return;
            }
            try {
                background.execute(() -> {
                    try {
                        adopt.accept(c);
                    } finally {
                        endAttempt(a);
                        request(); // more wanted? (one at a time)
                    }
                });
            } catch (RejectedExecutionException shuttingDown) {
                c.close();
                endAttempt(a);
            }
            return;
        }
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
        if (!closedNow) {
            lastPermanentFailure = cause instanceof AuthenticationException || cause instanceof TlsException
                    ? (TidewireException) cause : null;
            backoff.onFailure(System.nanoTime(), String.valueOf(cause.getMessage()));
            listener.connectFailed();
            events.connectAttemptFailed();
            String message = String.valueOf(cause.getMessage());
            failures.failure(System.Logger.Level.WARNING, failureKind, () -> (message.contains(address.toString())
                    ? message : "cannot connect to " + address + ": " + message)
                    + "; retrying in the background with backoff (up to every " + maxBackoffMillis + " ms)", null);
        }
        a.settled.complete(null);
        request(); // reconnect in the background when the backoff allows, if still wanted
    }
}
