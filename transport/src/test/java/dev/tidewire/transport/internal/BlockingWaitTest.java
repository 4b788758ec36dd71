package dev.tidewire.transport.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link BlockingWait}: {@code CompletableFuture.get}'s contract (value, error, timeout, interrupt),
 * and the wakes of the callers an event loop's read completes: every one woken, whatever the
 * size of the read's batch, from platform or virtual threads, and none lost.
 */
class BlockingWaitTest {
    private static final long LONG = TimeUnit.SECONDS.toNanos(30);

    private EventLoopGroup loops;
    private EventLoop loop;
    private ScheduledExecutorService timer;

    @BeforeEach
    void start() {
        loops = NettyRuntime.newEventLoopGroup(1, "blocking-wait-test");
        loop = loops.next();
        timer = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterEach
    void stop() throws Exception {
        timer.shutdownNow();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aCompletionFromAnotherThreadWakesTheCaller() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        timer.schedule(() -> f.complete("reply"), 50, TimeUnit.MILLISECONDS);
        assertEquals("reply", BlockingWait.get(f, LONG));

        CompletableFuture<String> failed = new CompletableFuture<>();
        timer.schedule(() -> failed.completeExceptionally(new IllegalStateException("no")), 50, TimeUnit.MILLISECONDS);
        ExecutionException e = assertThrows(ExecutionException.class, () -> BlockingWait.get(failed, LONG));
        assertEquals("no", e.getCause().getMessage());

        assertEquals("done", BlockingWait.get(CompletableFuture.completedFuture("done"), 0));
    }

    @Test
    void theTimeoutEndsTheWaitAndALaterCompletionWakesNobody() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        long start = System.nanoTime();
        assertThrows(TimeoutException.class, () -> BlockingWait.get(f, TimeUnit.MILLISECONDS.toNanos(100)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 100 && ms < 2_000, "waited " + ms + " ms");
        f.complete("late"); // the caller is gone: nothing to wake, nothing thrown
        assertEquals("late", BlockingWait.get(f, 0), "a later wait sees the outcome");
    }

    @Test
    void anInterruptBeforeTheCompletionEndsTheWaitAndClearsTheFlag() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        CompletableFuture<String> seen = new CompletableFuture<>();
        Thread caller = new Thread(() -> {
            try {
                BlockingWait.get(f, LONG);
                seen.complete("returned");
            } catch (InterruptedException e) {
                seen.complete("interrupted, flag " + Thread.currentThread().isInterrupted());
            } catch (Exception e) {
                seen.complete(e.toString());
            }
        });
        caller.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> caller.getState() == Thread.State.TIMED_WAITING);
        caller.interrupt();
        assertEquals("interrupted, flag false", seen.get(10, TimeUnit.SECONDS));

        // interrupted already when it starts waiting: the same
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> BlockingWait.get(new CompletableFuture<>(), LONG));
        assertFalse(Thread.currentThread().isInterrupted());
    }

    @Test
    void anInterruptAfterTheCompletionReturnsTheOutcomeWithTheFlagSet() throws Exception {
        Thread.currentThread().interrupt();
        try {
            assertEquals("done", BlockingWait.get(CompletableFuture.completedFuture("done"), LONG));
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }

    /** Batches of every size up to 65, many times over: each caller is woken once its read ends. */
    @Test
    void everyCallerAReadCompletesIsWokenWhenTheReadEnds() throws Exception {
        ExecutorService callers = Executors.newCachedThreadPool();
        try {
            for (int n : new int[] {1, 2, 3, 4, 7, 16, 17, 65}) {
                for (int round = 0; round < 20; round++) {
                    wakeABatch(callers, n);
                }
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /** Virtual callers (JDK 21+) unmount while they wait: far more wait at once than there are carriers. */
    @Test
    void virtualThreadCallersUnmountWhileTheyWaitAndAreAllWoken() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21+, running on " + Runtime.version());
        ExecutorService callers = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor")
                .invoke(null);
        try {
            // 512 callers parked at once: with their carriers pinned (at most one per core) they could not be
            wakeABatch(callers, 512);
            for (int round = 0; round < 20; round++) {
                wakeABatch(callers, 33);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /**
     * {@code n} callers wait, each on its own future; one loop task completes them all inside one
     * read (as {@code CallReader.channelRead} does) and ends it; every caller returns its value.
     */
    private void wakeABatch(ExecutorService callers, int n) throws Exception {
        List<CompletableFuture<Integer>> replies = new ArrayList<>();
        AtomicReferenceArray<Thread> threads = new AtomicReferenceArray<>(n);
        List<Future<Integer>> outcomes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CompletableFuture<Integer> reply = new CompletableFuture<>();
            replies.add(reply);
            int caller = i;
            outcomes.add(callers.submit(() -> {
                threads.set(caller, Thread.currentThread());
                return BlockingWait.get(reply, LONG);
            }));
        }
        // every caller parked (a virtual thread reports TIMED_WAITING once it has unmounted)
        await().atMost(Duration.ofSeconds(20)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).until(() -> {
            for (int i = 0; i < n; i++) {
                Thread t = threads.get(i);
                if (t == null || t.getState() != Thread.State.TIMED_WAITING) {
                    return false;
                }
            }
            return true;
        });
        loop.submit(() -> {
            BlockingWait.Relay relay = NettyRuntime.currentRelay();
            relay.begin();
            try {
                for (int i = 0; i < n; i++) {
                    replies.get(i).complete(i);
                }
            } finally {
                relay.end();
            }
        }).sync();
        for (int i = 0; i < n; i++) {
            assertEquals(i, outcomes.get(i).get(10, TimeUnit.SECONDS), "caller " + i + " of " + n);
        }
    }
}
