package dev.tidewire.tool.load;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives one measured run ("cell") of a target: a warm-up, then a measurement window, then a
 * bounded drain of the calls still in flight. Three drivers:
 *
 * <ul>
 *   <li>{@link #closedBlocking}: N caller threads, each making one call after another;</li>
 *   <li>{@link #closedAsync}: N calls kept outstanding, each completion sending the next (on the
 *       completing thread, without recursion if a call completes before {@code start} returns);</li>
 *   <li>{@link #open}: calls sent on a fixed schedule by one sender thread; each latency is taken
 *       from the call's <em>intended</em> send time, so a sender that falls behind (a stalled
 *       system, a GC pause) shows up as latency instead of silently sending less: coordinated
 *       omission is corrected.</li>
 * </ul>
 *
 * <p>Latencies go into an HdrHistogram {@link Recorder} (nanoseconds, 3 significant digits) that
 * the supervising thread drains once a second for the progress line. Every loop is bounded by a
 * count and by time: senders stop at the end of the window, and the drain waits at most the call
 * timeout plus 5 s. Caller and sender threads have all ended when a driver returns (a thread
 * stuck past the drain is interrupted and joined; {@link Result#unfinished()} counts such calls).
 */
public final class Runner {
    /** Upper bound on one caller's (or slot's) calls, so a loop ends even if time stood still. */
    static final long MAX_CALLS_PER_LOOP = 100_000_000L;
    /** Most calls the open loop keeps outstanding; past it the sender waits (and falls behind). */
    static final int MAX_OUTSTANDING = 200_000;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private enum Phase { WARMUP, MEASURE, DRAIN }

    /**
     * Told when the measurement window starts and ends, on the supervising thread, at the moment
     * calls start (and stop) counting towards {@link Result#calls()}: for figures taken over
     * exactly the window, such as the CPU time {@code compare} divides by the window's calls.
     * Each run calls {@link #windowStarted()} once, then {@link #windowEnded()} once. A hook
     * should be quick (its time falls inside the window).
     */
    public interface WindowHook {
        /** A hook that does nothing: the drivers without a hook use it. */
        WindowHook NONE = new WindowHook() {
            @Override
            public void windowStarted() {
            }

            @Override
            public void windowEnded() {
            }
        };

        /** The warm-up is over: calls finishing from now on count. */
        void windowStarted();

        /** The window is over: calls finishing from now on do not count. */
        void windowEnded();
    }

    /** Longest latency the histograms hold (longer ones are recorded as this): one hour. */
    static final long MAX_LATENCY_NANOS = TimeUnit.HOURS.toNanos(1);

    // pre-sized, so recording never pays for a resize of the concurrent histogram
    private final Recorder recorder = new Recorder(1, MAX_LATENCY_NANOS, 3);
    // failed calls only (rare), so the successful calls' latency is all minus these, and a
    // successful call costs one recording, not two
    private final Recorder failedRecorder = new Recorder(1, MAX_LATENCY_NANOS, 3);
    private final LongAdder windowCalls = new LongAdder();
    private final LongAdder errorTotal = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final long start;
    private final long warmEnd;
    private final long end;
    private final long hardStop;
    private final String label;
    private final Progress progress;
    private final WindowHook hook;
    private volatile Phase phase;
    private volatile boolean stop;

    private Runner(String label, Duration warmup, Duration measure, Duration callTimeout, Progress progress,
            WindowHook hook) {
        if (measure.isZero() || measure.isNegative() || warmup.isNegative()) {
            throw new IllegalArgumentException("measure must be > 0 and warmup >= 0");
        }
        this.label = label;
        this.progress = progress;
        this.hook = hook;
        if (warmup.isZero()) {
            hook.windowStarted(); // no warm-up: the window starts with the run, before any call
        }
        this.start = System.nanoTime();
        this.warmEnd = start + warmup.toNanos();
        this.end = warmEnd + measure.toNanos();
        this.hardStop = end + callTimeout.toNanos() + TimeUnit.SECONDS.toNanos(5);
        this.phase = warmup.isZero() ? Phase.MEASURE : Phase.WARMUP;
    }

    // ------------------------------------------------------------------ drivers

    /** {@code callers} threads, each calling {@code target} back to back until the window ends. */
    public static Result closedBlocking(String label, BlockingTarget target, int callers, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress) {
        return closedBlocking(label, target, callers, warmup, measure, callTimeout, progress, WindowHook.NONE);
    }

    /**
     * {@link #closedBlocking(String, BlockingTarget, int, Duration, Duration, Duration, Progress)}
     * telling {@code hook} when the measurement window starts and ends.
     */
    public static Result closedBlocking(String label, BlockingTarget target, int callers, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress, WindowHook hook) {
        AtomicInteger n = new AtomicInteger();
        return closedBlocking(label, target, callers, warmup, measure, callTimeout, progress, task -> {
            Thread t = new Thread(task, "bench-caller-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        }, hook);
    }

    /**
     * {@link #closedBlocking(String, BlockingTarget, int, Duration, Duration, Duration, Progress)}
     * with caller threads from {@code threads} (for example virtual threads); they are started,
     * and joined (interrupted past the drain) before this returns.
     */
    public static Result closedBlocking(String label, BlockingTarget target, int callers, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress, ThreadFactory threads) {
        return closedBlocking(label, target, callers, warmup, measure, callTimeout, progress, threads, WindowHook.NONE);
    }

    /**
     * {@link #closedBlocking(String, BlockingTarget, int, Duration, Duration, Duration, Progress, ThreadFactory)}
     * telling {@code hook} when the measurement window starts and ends.
     */
    public static Result closedBlocking(String label, BlockingTarget target, int callers, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress, ThreadFactory threads, WindowHook hook) {
        Runner r = new Runner(label, warmup, measure, callTimeout, progress, hook);
        CountDownLatch finished = new CountDownLatch(callers);
        List<Thread> callerThreads = new ArrayList<>(callers);
        for (int i = 0; i < callers; i++) {
            int caller = i;
            callerThreads.add(threads.newThread(() -> {
                try {
                    r.callerLoop(target, caller);
                } finally {
                    finished.countDown();
                }
            }));
        }
        for (Thread t : callerThreads) {
            t.start();
        }
        try {
            return r.supervise(finished, finished::getCount, null);
        } finally {
            r.stop = true;
            stopThreads(callerThreads, r.hardStop);
        }
    }

    /** {@code outstanding} calls in flight at all times; each completion sends the next until the window ends. */
    public static Result closedAsync(String label, AsyncTarget target, int outstanding, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress) {
        return closedAsync(label, target, outstanding, warmup, measure, callTimeout, progress, WindowHook.NONE);
    }

    /**
     * {@link #closedAsync(String, AsyncTarget, int, Duration, Duration, Duration, Progress)} telling
     * {@code hook} when the measurement window starts and ends.
     */
    public static Result closedAsync(String label, AsyncTarget target, int outstanding, Duration warmup,
            Duration measure, Duration callTimeout, Progress progress, WindowHook hook) {
        Runner r = new Runner(label, warmup, measure, callTimeout, progress, hook);
        CountDownLatch finished = new CountDownLatch(outstanding);
        AtomicLong inFlight = new AtomicLong();
        for (int i = 0; i < outstanding; i++) {
            r.slotLoop(target, new Slot(i, finished), inFlight);
        }
        try {
            return r.supervise(finished, inFlight::get, null);
        } finally {
            r.stop = true;
        }
    }

    /**
     * Calls at {@code rate} per second on a fixed schedule from one sender thread, all through
     * {@code target.start(0, seq, done)}; latency from each call's intended send time.
     */
    public static Result open(String label, AsyncTarget target, double rate, Duration warmup, Duration measure,
            Duration callTimeout, Progress progress) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("rate must be > 0");
        }
        Runner r = new Runner(label, warmup, measure, callTimeout, progress, WindowHook.NONE);
        CountDownLatch senderDone = new CountDownLatch(1);
        AtomicLong inFlight = new AtomicLong();
        OpenSender sender = new OpenSender(r, target, rate, inFlight, senderDone);
        Thread t = new Thread(sender, "bench-sender");
        t.setDaemon(true);
        t.start();
        try {
            return r.supervise(senderDone, inFlight::get, sender);
        } finally {
            r.stop = true;
            stopThreads(List.of(t), r.hardStop);
        }
    }

    // ------------------------------------------------------------------ loops

    private void callerLoop(BlockingTarget target, int caller) {
        for (long seq = 0; seq < MAX_CALLS_PER_LOOP && !stop && System.nanoTime() < end; seq++) {
            long t0 = System.nanoTime();
            Throwable failure = null;
            try {
                target.call(caller, seq);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                record(System.nanoTime() - t0, e);
                return;
            } catch (Exception e) {
                failure = e;
            }
            record(System.nanoTime() - t0, failure);
        }
    }

    private static final class Slot {
        final int index;
        final CountDownLatch finished;
        long seq; // handed between threads through the handoff CAS of each call

        Slot(int index, CountDownLatch finished) {
            this.index = index;
            this.finished = finished;
        }
    }

    /**
     * Sends the slot's next call unless the window is over. If the call completes before
     * {@code start} returns, this loop sends the next one itself (no recursion); otherwise the
     * completion does. Exactly one of the two wins the handoff.
     */
    private void slotLoop(AsyncTarget target, Slot slot, AtomicLong inFlight) {
        while (true) {
            if (stop || slot.seq >= MAX_CALLS_PER_LOOP || System.nanoTime() >= end) {
                slot.finished.countDown();
                return;
            }
            long seq = slot.seq++;
            AtomicInteger handoff = new AtomicInteger(); // 0 pending, 1 start returned first, 2 completed first
            inFlight.incrementAndGet();
            long t0 = System.nanoTime();
            try {
                target.start(slot.index, seq, failure -> {
                    record(System.nanoTime() - t0, failure);
                    inFlight.decrementAndGet();
                    if (!handoff.compareAndSet(0, 2)) {
                        slotLoop(target, slot, inFlight);
                    }
                });
            } catch (RuntimeException e) {
                if (handoff.compareAndSet(0, 2)) {
                    record(System.nanoTime() - t0, e);
                    inFlight.decrementAndGet();
                }
            }
            if (handoff.compareAndSet(0, 1)) {
                return; // the completion continues this slot
            }
        }
    }

    /** The open loop's sender: one thread walking the schedule. */
    private static final class OpenSender implements Runnable {
        private final Runner r;
        private final AsyncTarget target;
        private final double periodNanos;
        private final double rate;
        private final long planned;
        private final AtomicLong inFlight;
        private final CountDownLatch done;
        private long issued;
        private long maxLag;
        private long endLag;
        private long sentInWindow;
        private long capWaits;
        /** Lag of each call scheduled in the window; written by the sender thread only. */
        private final Histogram lags = new Histogram(1, MAX_LATENCY_NANOS, 3);
        /** The lag of the latest send, for the progress line. */
        volatile long lastLag;

        OpenSender(Runner r, AsyncTarget target, double rate, AtomicLong inFlight, CountDownLatch done) {
            this.r = r;
            this.target = target;
            this.rate = rate;
            this.periodNanos = 1e9 / rate;
            this.planned = (long) Math.floor((r.end - r.start) / periodNanos);
            this.inFlight = inFlight;
            this.done = done;
        }

        @Override
        public void run() {
            try {
                long k = 0;
                while (k < planned && !r.stop) {
                    long intended = r.start + (long) (k * periodNanos);
                    long now = System.nanoTime();
                    if (now >= r.hardStop) {
                        break;
                    }
                    if (intended > now) {
                        LockSupport.parkNanos(Math.min(intended - now, 10_000_000L));
                        continue;
                    }
                    if (inFlight.get() >= MAX_OUTSTANDING) {
                        capWaits++;
                        LockSupport.parkNanos(50_000L);
                        continue;
                    }
                    long lag = now - intended;
                    lastLag = lag;
                    if (intended >= r.warmEnd) {
                        maxLag = Math.max(maxLag, lag);
                        lags.recordValue(Math.min(lag, MAX_LATENCY_NANOS));
                    }
                    if (r.phase == Phase.MEASURE) {
                        sentInWindow++;
                    }
                    send(k, intended);
                    k++;
                }
                endLag = k >= planned ? lastLag : Math.max(0, System.nanoTime() - (r.start + (long) (k * periodNanos)));
                issued = k;
            } finally {
                done.countDown();
            }
        }

        private void send(long seq, long intended) {
            inFlight.incrementAndGet();
            try {
                target.start(0, seq, failure -> {
                    r.record(System.nanoTime() - intended, failure);
                    inFlight.decrementAndGet();
                });
            } catch (RuntimeException e) {
                r.record(System.nanoTime() - intended, e);
                inFlight.decrementAndGet();
            }
        }

        Result.OpenLoopStats stats() {
            return new Result.OpenLoopStats(rate, planned, issued, maxLag, endLag,
                    lags.getTotalCount() == 0 ? 0 : lags.getValueAtPercentile(99), sentInWindow, capWaits);
        }
    }

    // ------------------------------------------------------------------ recording and supervision

    private void record(long nanos, Throwable failure) {
        long value = Math.min(MAX_LATENCY_NANOS, Math.max(1, nanos));
        // failed first: an interval swap between the two lands the failure no later than the call,
        // so "all minus failed" never subtracts a value the total does not hold
        if (failure != null) {
            failedRecorder.recordValue(value);
        }
        recorder.recordValue(value);
        Phase p = phase;
        if (p == Phase.MEASURE) {
            windowCalls.increment();
        }
        if (failure != null && p != Phase.WARMUP) {
            errorTotal.increment();
            errors.computeIfAbsent(errorName(failure), k -> new LongAdder()).increment();
        }
    }

    /**
     * Runs on the calling thread: prints progress once a second, switches warm-up to measurement
     * and measurement to drain at their times, then waits (bounded) for the workers and calls.
     * Progress seconds count from the start of their phase: {@code warm-up 1 s}, {@code warm-up
     * 2 s}, then {@code 1 s} .. {@code N s} of the measurement window (N its length in whole
     * seconds; the last line comes at its end). Workers that end early (an open loop's sender
     * after its last planned call) do not end the window early.
     */
    private Result supervise(CountDownLatch workers, java.util.function.LongSupplier outstanding, OpenSender sender) {
        Histogram total = new Histogram(3);
        Histogram totalFailed = new Histogram(3);
        long windowStart = phase == Phase.MEASURE ? start : -1;
        long lastTickAt = start;
        int tick = 0; // whole seconds into the current phase
        boolean interrupted = false;
        long maxIterations = 4 * ((end - start) / SECOND + 4) + 16;
        for (long i = 0; i < maxIterations; i++) {
            boolean warm = phase == Phase.WARMUP;
            long phaseStart = warm ? start : warmEnd;
            long phaseEnd = warm ? warmEnd : end;
            long nextTick = phaseStart + (tick + 1) * SECOND;
            if (!pauseUntil(Math.min(nextTick, phaseEnd))) {
                interrupted = true;
                break;
            }
            long now = System.nanoTime();
            if (now >= nextTick && nextTick <= phaseEnd) {
                tick++;
                Histogram h = recorder.getIntervalHistogram();
                Histogram failed = failedRecorder.getIntervalHistogram();
                if (!warm && h.getTotalCount() > 0) {
                    total.add(h);
                    totalFailed.add(failed);
                }
                long errs = errorTotal.sum();
                double perSecond = h.getTotalCount() * 1e9 / Math.max(1, now - lastTickAt);
                progress.line(progressLine(label, warm, tick, perSecond,
                        h.getTotalCount() == 0 ? "-" : Result.fmt(h.getValueAtPercentile(99) / 1e6), errs,
                        sender == null ? null : Result.fmt(sender.lastLag / 1e6)));
                lastTickAt = now;
            }
            if (warm && now >= warmEnd) {
                recorder.getIntervalHistogram(); // the warm-up's latencies are discarded
                failedRecorder.getIntervalHistogram();
                windowStart = now;
                lastTickAt = now;
                tick = 0;
                hook.windowStarted();
                phase = Phase.MEASURE;
            }
            if (now >= end) {
                break;
            }
        }
        if (windowStart < 0) {
            hook.windowStarted();
            windowStart = System.nanoTime(); // the workers ended during the warm-up
            recorder.getIntervalHistogram();
            failedRecorder.getIntervalHistogram();
        }
        hook.windowEnded();
        long windowEnd = System.nanoTime();
        phase = Phase.DRAIN;
        stop = true;
        long calls = windowCalls.sum();
        total.add(recorder.getIntervalHistogram());
        totalFailed.add(failedRecorder.getIntervalHistogram());
        // drain: the workers end by themselves (their calls have deadlines); wait at most until hardStop
        if (!interrupted) {
            await(workers, hardStop);
        }
        for (long i = 0; outstanding.getAsLong() > 0 && System.nanoTime() < hardStop && i < 1_000_000; i++) {
            LockSupport.parkNanos(1_000_000L);
        }
        total.add(recorder.getIntervalHistogram());
        totalFailed.add(failedRecorder.getIntervalHistogram());
        progress.end();
        Map<String, Long> byType = new TreeMap<>();
        errors.forEach((type, n) -> byType.put(type, n.sum()));
        Histogram ok = total.copy();
        ok.subtract(totalFailed);
        return new Result(calls, windowEnd - windowStart, total, ok, Collections.unmodifiableMap(byType),
                Math.max(0, outstanding.getAsLong()), sender == null ? null : sender.stats());
    }

    /**
     * One progress line: {@code label warm-up 1 s ...} during the warm-up, {@code label 1 s ...}
     * during the measurement window; {@code senderLag} is null except in the open loop.
     */
    static String progressLine(String label, boolean warmUp, int second, double perSecond, String p99, long errors,
            String senderLag) {
        return String.format("%s %12s %,10.0f calls/s   p99 %-10s %,d errors%s", label,
                (warmUp ? "warm-up " : "") + second + " s", perSecond, p99, errors,
                senderLag == null ? "" : "   sender behind " + senderLag);
    }

    /** Parks until {@code deadline} (bounded); false if the thread was interrupted. */
    private static boolean pauseUntil(long deadline) {
        for (int i = 0; i < 100_000; i++) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return true;
            }
            LockSupport.parkNanos(left);
            if (Thread.currentThread().isInterrupted()) {
                return false;
            }
        }
        return true;
    }

    private static boolean await(CountDownLatch latch, long deadline) {
        try {
            return latch.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private static void stopThreads(List<Thread> threads, long deadline) {
        for (Thread t : threads) {
            join(t, deadline);
        }
        for (Thread t : threads) {
            if (t.isAlive()) {
                t.interrupt();
                join(t, System.nanoTime() + SECOND);
            }
        }
    }

    private static void join(Thread t, long deadline) {
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The exception's simple class name, unwrapped from {@link CompletionException} and
     * {@link ExecutionException}; a gRPC status exception also names its status code.
     */
    public static String errorName(Throwable failure) {
        Throwable e = failure;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        String name = e.getClass().getSimpleName();
        if (name.startsWith("Status") && e.getMessage() != null) {
            String code = e.getMessage().split("[:\\s]", 2)[0];
            return name + "(" + code + ")";
        }
        return name;
    }
}
