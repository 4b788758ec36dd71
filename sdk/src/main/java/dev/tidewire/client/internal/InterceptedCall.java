package dev.tidewire.client.internal;

import dev.tidewire.Metadata;
import dev.tidewire.client.ClientInterceptor;
import dev.tidewire.transport.Deadline;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One call through a chain of {@link ClientInterceptor}s, and the future its caller holds.
 *
 * <p>It completes with what the outermost interceptor returns. Cancelling it cancels both that
 * future and the last request the chain sent, so the CANCEL reaches the wire even when an
 * interceptor returned a dependent future (which would not pass a cancel down).
 *
 * <p>Threads: {@link #start} runs the interceptors on the caller's thread; {@code sent} is
 * written there (or wherever an interceptor calls {@code proceed}) and read by a cancelling thread.
 */
public final class InterceptedCall extends CompletableFuture<byte[]> {

    /** What the innermost link does: send the call (the pool). */
    @FunctionalInterface
    public interface Sender {
        /** Sends {@code op} with {@code body} and {@code metadata} by {@code deadline}; the future completes on an event loop. */
        CompletableFuture<byte[]> send(String op, byte[] body, Metadata metadata, Deadline deadline);
    }

    private final ClientInterceptor[] interceptors;
    private final Sender sender;
    private final String op;
    private final byte[] body;
    private final Deadline deadline;
    private final long startNanos;
    private volatile CompletableFuture<byte[]> outer;
    private volatile CompletableFuture<byte[]> sent;

    private InterceptedCall(ClientInterceptor[] interceptors, Sender sender, String op, byte[] body, Deadline deadline,
            long startNanos) {
        this.interceptors = interceptors;
        this.sender = sender;
        this.op = op;
        this.body = body;
        this.deadline = deadline;
        this.startNanos = startNanos;
    }

    /** Runs the chain for one call and returns the caller's future. */
    public static InterceptedCall start(ClientInterceptor[] interceptors, Sender sender, String op, byte[] body,
            Metadata metadata, Deadline deadline, long startNanos) {
        InterceptedCall call = new InterceptedCall(interceptors, sender, op, body, deadline, startNanos);
        CompletableFuture<byte[]> result;
        try {
            result = call.proceed(0, metadata);
            if (result == null) {
                throw new NullPointerException("a ClientInterceptor returned no future for op '" + op + "'");
            }
        } catch (RuntimeException | Error e) {
            result = CompletableFuture.failedFuture(e);
        }
        call.outer = result;
        result.whenComplete((value, error) -> {
            if (error == null) {
                call.complete(value);
            } else {
                call.completeExceptionally(error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error);
            }
        });
        if (call.isCancelled()) {
            result.cancel(true);
        }
        return call;
    }

    private CompletableFuture<byte[]> proceed(int index, Metadata metadata) {
        if (isDone()) {
            return CompletableFuture.failedFuture(new CancellationException("op '" + op + "' was cancelled"));
        }
        if (index == interceptors.length) {
            CompletableFuture<byte[]> f = sender.send(op, body, metadata, deadline);
            sent = f;
            if (isCancelled()) {
                f.cancel(true);
            }
            return f;
        }
        return interceptors[index].intercept(new Link(index, metadata));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            CompletableFuture<byte[]> o = outer;
            CompletableFuture<byte[]> s = sent;
            if (o != null) {
                o.cancel(mayInterruptIfRunning);
            }
            if (s != null) {
                s.cancel(mayInterruptIfRunning);
            }
        }
        return cancelled;
    }

    /** The chain as interceptor {@code index} sees it. */
    private final class Link implements ClientInterceptor.Chain {
        private final int index;
        private final Metadata metadata;

        Link(int index, Metadata metadata) {
            this.index = index;
            this.metadata = metadata;
        }

        @Override
        public String op() {
            return op;
        }

        @Override
        public Metadata metadata() {
            return metadata;
        }

        @Override
        public Deadline deadline() {
            return deadline;
        }

        @Override
        public long startNanos() {
            return startNanos;
        }

        @Override
        public CompletableFuture<byte[]> proceed(Metadata next) {
            return InterceptedCall.this.proceed(index + 1, java.util.Objects.requireNonNull(next, "metadata"));
        }
    }
}
