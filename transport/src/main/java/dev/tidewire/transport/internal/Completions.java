package dev.tidewire.transport.internal;

import java.lang.System.Logger.Level;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Completes a future on the executor its owner chose, and never on a transport thread when that
 * executor refuses.
 *
 * <p>Completing a {@link CompletableFuture} runs every stage chained on it in the completing
 * thread. If the chosen executor rejects the completion (shut down, or a bounded queue full),
 * running it right here would put application code on an event loop. Instead the outcome is
 * replaced by a {@link RejectedExecutionException} that names the call and carries the original
 * outcome as its cause (a success as a message), delivered on Tidewire's own callback pool, or,
 * if that is closed too, on a new short-lived thread named {@code tidewire-rejected-completion}.
 * Such a delivery is logged at WARNING (the first, then one summary per {@link RateLimitedLog#WINDOW},
 * each at DEBUG): it is visible, and the call still ends exactly once.
 */
public final class Completions {
    private static final System.Logger LOG = System.getLogger(Completions.class.getName());
    // a full or shut-down executor rejects every completion: one WARNING line per window, not per call
    private static final RateLimitedLog REJECTIONS = new RateLimitedLog(LOG);

    private Completions() {
    }

    /**
     * Completes {@code future} with {@code value} or {@code error}: directly when {@code executor}
     * is null, else on it (see the class comment when it rejects).
     *
     * @param fallback Tidewire's callback pool, used only when {@code executor} rejects
     * @param what     names the call in the rejection's message
     */
    public static <T> void complete(CompletableFuture<T> future, T value, Throwable error, Executor executor,
            Executor fallback, String what) {
        if (executor == null) {
            completeNow(future, value, error);
            return;
        }
        try {
            executor.execute(() -> completeNow(future, value, error));
        } catch (RejectedExecutionException rejected) {
            RejectedExecutionException delivered = new RejectedExecutionException("the callback executor rejected"
                    + " the completion of " + what + (error == null ? " (it had succeeded)" : ""), error);
            delivered.addSuppressed(rejected);
            REJECTIONS.failure(Level.WARNING, "completion on the callback executor",
                    () -> "callback executor rejected the completion of " + what
                            + "; failing it with RejectedExecutionException on a Tidewire thread", null);
            Runnable fail = () -> future.completeExceptionally(delivered);
            try {
                if (fallback == null || fallback == executor) {
                    throw new RejectedExecutionException("no fallback");
                }
                fallback.execute(fail);
            } catch (RejectedExecutionException closedToo) {
                Thread t = new Thread(fail, "tidewire-rejected-completion");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    private static <T> void completeNow(CompletableFuture<T> future, T value, Throwable error) {
        if (error == null) {
            future.complete(value);
        } else {
            future.completeExceptionally(error);
        }
    }
}
