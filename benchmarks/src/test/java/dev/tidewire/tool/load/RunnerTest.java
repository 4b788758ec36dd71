package dev.tidewire.tool.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
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

    @Test
    void progressCountsWarmUpAndMeasurementSecondsEachFromTheirOwnStart() {
        // 1 s of warm-up, then 2 s measured: "warm-up 1 s", then "1 s" and "2 s", not "2 s" and "3 s"
        Lines lines = new Lines();
        Result r = Runner.closedBlocking("t", (caller, seq) -> LockSupport.parkNanos(1_000_000L), 1,
                Duration.ofSeconds(1), Duration.ofSeconds(2), TIMEOUT, lines);
        assertEquals(List.of("warm-up 1 s", "1 s", "2 s"), lines.seconds("t"), lines::toString);
        assertTrue(r.calls() > 0, () -> "calls " + r.calls());
    }

    @Test
    void openLoopProgressEndsAtTheRunLengthThoughTheSenderIsDoneBefore() {
        // the sender's last call is due 10 ms before the window ends; the window still runs to its end
        Lines lines = new Lines();
        Result r = Runner.open("o", (slot, seq, done) -> done.complete(null), 100, Duration.ZERO,
                Duration.ofSeconds(1), TIMEOUT, lines);
        assertEquals(List.of("1 s"), lines.seconds("o"), lines::toString);
        assertTrue(lines.all.get(0).contains("sender behind"), lines::toString);
        assertEquals(100, r.open().issued());
        assertTrue(r.windowNanos() >= TimeUnit.MILLISECONDS.toNanos(1000), () -> "window " + r.windowNanos());
    }

    @Test
    void theWindowHookBracketsTheMeasurementWindowOnceWithAndWithoutWarmUp() throws InterruptedException {
        // completions on another thread, so the supervisor runs (and switches to the window) meanwhile
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            hookedRuns((slot, seq, done) -> pool.execute(() -> done.complete(null)));
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
        }
    }

    private static void hookedRuns(AsyncTarget target) {
        for (Duration warmup : List.of(Duration.ZERO, Duration.ofMillis(100))) {
            List<String> events = new CopyOnWriteArrayList<>();
            long[] at = new long[2];
            Runner.WindowHook hook = new Runner.WindowHook() {
                @Override
                public void windowStarted() {
                    events.add("started");
                    at[0] = System.nanoTime();
                }

                @Override
                public void windowEnded() {
                    events.add("ended");
                    at[1] = System.nanoTime();
                }
            };
            Result async = Runner.closedAsync("hooked", target, 2, warmup, WINDOW, TIMEOUT, Progress.NONE, hook);
            assertEquals(List.of("started", "ended"), events, () -> "warm-up " + warmup);
            if (!warmup.isZero()) { // the window's clock is read before the start hook and after the end hook
                assertTrue(at[1] - at[0] <= async.windowNanos(), () -> (at[1] - at[0]) + " > " + async.windowNanos());
            }
            events.clear();
            Runner.closedBlocking("hooked", (caller, seq) -> { }, 2, warmup, WINDOW, TIMEOUT, Progress.NONE,
                    Thread::new, hook);
            assertEquals(List.of("started", "ended"), events, () -> "warm-up " + warmup);
        }
    }

    /** A progress sink that keeps every line. */
    private static final class Lines implements Progress {
        final List<String> all = new CopyOnWriteArrayList<>();

        @Override
        public void line(String text) {
            all.add(text);
        }

        @Override
        public void end() {
        }

        /** The time label of each line: {@code warm-up 1 s} or {@code 1 s}. */
        List<String> seconds(String label) {
            Pattern p = Pattern.compile("^" + Pattern.quote(label) + " +((?:warm-up )?\\d+ s) ");
            return all.stream().map(p::matcher).map(m -> m.find() ? m.group(1) : "?").toList();
        }

        @Override
        public String toString() {
            return String.join("\n", all);
        }
    }
}
