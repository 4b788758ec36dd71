package dev.tidewire.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.client.TidewireClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * Closed-loop load: caller threads each make blocking {@code echo} calls of about 100 bytes, one
 * after another, until the duration is over (or a per-caller cap is reached), recording every
 * call's latency; a progress line is printed once a second.
 */
final class LoadRun {
    /** Upper bound on one caller's calls, so the loop ends even if time stood still. */
    private static final long MAX_CALLS_PER_CALLER = 100_000_000L;
    /** An echo reply that did not match its request (it would mean replies were crossed). */
    private static final String MISMATCHED_REPLY = "MismatchedReply";
    private static final String PAD = "tidewire".repeat(8);

    /**
     * What a run measured.
     *
     * @param calls   calls finished, successful or not
     * @param nanos   time from the first call to the last caller's end
     * @param errors  failed calls by exception simple name (or {@link #MISMATCHED_REPLY})
     * @param latency every finished call's latency, nanoseconds
     */
    record Result(long calls, long nanos, Map<String, Long> errors, Histogram latency) {
        long errorCount() {
            return errors.values().stream().mapToLong(Long::longValue).sum();
        }

        double callsPerSecond() {
            return nanos == 0 ? 0 : calls * 1e9 / nanos;
        }
    }

    private final TidewireClient client;
    private final int callers;
    private final Duration duration;
    private final LongAdder calls = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> errorsByType = new ConcurrentHashMap<>();
    private final Queue<Histogram> finishedHistograms = new ConcurrentLinkedQueue<>();
    private volatile boolean stopped;

    LoadRun(TidewireClient client, int callers, Duration duration) {
        this.client = client;
        this.callers = callers;
        this.duration = duration;
    }

    /**
     * Runs the load, printing progress to {@code out} once a second: overwriting one line when
     * {@code live}, else a line each second. Waits at most the duration plus the client's request
     * timeout plus 5 s for the callers to end.
     */
    Result run(PrintStream out, boolean live) {
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        long hardStop = end + client.options().requestTimeout().toNanos() + TimeUnit.SECONDS.toNanos(5);
        CountDownLatch finished = new CountDownLatch(callers);
        List<Thread> threads = new ArrayList<>(callers);
        for (int i = 0; i < callers; i++) {
            int caller = i;
            Thread t = new Thread(() -> {
                try {
                    callLoop(caller, end);
                } finally {
                    finished.countDown();
                }
            }, "demo-caller-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        try {
            report(out, live, start, hardStop, finished);
        } finally {
            stopped = true;
            for (Thread t : threads) {
                join(t, hardStop);
            }
        }
        long nanos = System.nanoTime() - start;
        Histogram latency = new Histogram(3);
        for (Histogram h : finishedHistograms) {
            latency.add(h);
        }
        Map<String, Long> byType = new TreeMap<>();
        errorsByType.forEach((type, n) -> byType.put(type, n.sum()));
        return new Result(calls.sum(), nanos, Collections.unmodifiableMap(byType), latency);
    }

    private void callLoop(int caller, long end) {
        Histogram latency = new Histogram(3);
        ObjectNode request = JsonNodeFactory.instance.objectNode().put("caller", caller).put("seq", 0L).put("pad", PAD);
        try {
            for (long seq = 0; seq < MAX_CALLS_PER_CALLER && !stopped && System.nanoTime() < end; seq++) {
                request.put("seq", seq);
                long t0 = System.nanoTime();
                try {
                    JsonNode reply = client.callJson("echo", request);
                    if (reply.path("seq").asLong(-1) != seq || reply.path("caller").asInt(-1) != caller) {
                        failed(MISMATCHED_REPLY);
                    }
                } catch (RuntimeException e) {
                    failed(e.getClass().getSimpleName());
                }
                latency.recordValue(System.nanoTime() - t0);
                calls.increment();
            }
        } finally {
            finishedHistograms.add(latency);
        }
    }

    private void failed(String type) {
        errors.increment();
        errorsByType.computeIfAbsent(type, k -> new LongAdder()).increment();
    }

    private void report(PrintStream out, boolean live, long start, long hardStop, CountDownLatch finished) {
        long second = TimeUnit.SECONDS.toNanos(1);
        long maxTicks = (hardStop - start) / second + 1;
        long lastCalls = 0;
        try {
            for (long tick = 1; tick <= maxTicks; tick++) {
                long at = Math.min(start + tick * second, hardStop);
                if (finished.await(Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS) || at == hardStop) {
                    break;
                }
                long total = calls.sum();
                String line = String.format("   %3d s  %,12d calls  %,9d calls/s  %,d errors",
                        tick, total, total - lastCalls, errors.sum());
                if (live) {
                    out.print("\r" + line);
                    out.flush();
                } else {
                    out.println(line);
                }
                lastCalls = total;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (live) {
                out.println();
            }
        }
    }

    private static void join(Thread t, long deadlineNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        try {
            t.join(Math.max(1, ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
