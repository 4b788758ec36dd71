package dev.tidewire.tool.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The drivers on fake targets: no network, fractions of a second each. */
@Timeout(30)
class RunnerTest {
    private static final Duration WINDOW = Duration.ofMillis(200);
    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    @Test
    void asyncCallsThatCompleteInsideStartDoNotRecurse() {
        // millions of inline completions would overflow the stack if each sent the next recursively
        Result r = Runner.closedAsync("inline", (slot, seq, done) -> done.complete(null), 2, Duration.ZERO, WINDOW,
                TIMEOUT, Progress.NONE);
        assertTrue(r.calls() > 10_000, () -> "calls " + r.calls());
        assertEquals(0, r.errorCount());
        assertEquals(0, r.unfinished());
    }

    @Test
    void asyncCallsCompletedOnAnotherThreadKeepTheOutstandingCount() throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Result r = Runner.closedAsync("threads", (slot, seq, done) -> pool.execute(() -> done.complete(
                    seq % 1000 == 999 ? new IllegalStateException("every thousandth fails") : null)), 8,
                    Duration.ofMillis(100), WINDOW, TIMEOUT, Progress.NONE);
            assertTrue(r.calls() > 100, () -> "calls " + r.calls());
            assertEquals(0, r.unfinished());
            assertEquals(r.errorCount(), r.errors().getOrDefault("IllegalStateException", 0L));
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void openLoopMeasuresFromTheIntendedSendTime() {
        // a target that stalls the sender for 50 ms once: later calls were due earlier, so their
        // latency includes the wait, though each one itself is instant
        Result r = Runner.open("stall", (slot, seq, done) -> {
            if (seq == 10) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            done.complete(null);
        }, 1000, Duration.ZERO, WINDOW, TIMEOUT, Progress.NONE);
        assertNotNull(r.open());
        assertEquals(200, r.open().planned());
        assertEquals(200, r.open().issued());
        assertTrue(r.maxMs() >= 45, () -> "max " + r.maxMs());
        assertTrue(r.open().maxLagNanos() >= TimeUnit.MILLISECONDS.toNanos(40), () -> "lag " + r.open());
        assertTrue(r.ms(50) < 40, () -> "p50 " + r.ms(50));
    }

    @Test
    void blockingCallersRecordFailuresByType() {
        Result r = Runner.closedBlocking("blocking", (caller, seq) -> {
            if (caller == 0 && seq == 0) {
                throw new java.io.IOException("first call of caller 0 fails");
            }
        }, 3, Duration.ZERO, WINDOW, TIMEOUT, Progress.NONE);
        assertEquals(1, r.errorCount());
        assertEquals(1L, r.errors().get("IOException"));
        assertTrue(r.calls() > 1000);
    }
}
