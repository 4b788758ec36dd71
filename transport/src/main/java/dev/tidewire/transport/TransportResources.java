package dev.tidewire.transport;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * Threads shared by many connections: one timer thread that drives every deadline and heartbeat,
 * and a small pool that completes futures handed to users (so the reader threads never run user
 * code). Create one per client, share it among all its connections, close it last.
 *
 * <pre>{@code
 * try (TransportResources resources = TransportResources.create();
 *      Connection c = Connection.open(address, ConnectionOptions.defaults(), resources)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Why one periodic tick instead of a timer task per call: scheduling and cancelling a task for
 * each of ~10^5 calls per second costs a contended heap operation on every call; a tick every
 * {@link #timerTick()} that walks the pending calls costs nothing per call and bounds how late a
 * timeout fires to one tick.
 */
public final class TransportResources implements AutoCloseable {
    /** Default timer resolution: 10 ms. Timeouts fire at most this late. */
    public static final Duration DEFAULT_TIMER_TICK = Duration.ofMillis(10);

    private static final System.Logger LOG = System.getLogger(TransportResources.class.getName());
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Duration timerTick;
    private final ScheduledThreadPoolExecutor timer;
    private final ThreadPoolExecutor callbacks;
    private final Set<LongConsumer> tickers = ConcurrentHashMap.newKeySet();
    private volatile Thread timerThread;

    private TransportResources(Duration timerTick, int callbackThreads) {
        int id = INSTANCES.incrementAndGet();
        this.timerTick = timerTick;
        ThreadFactory timerThreads = daemonThreads("tidewire-timer-" + id);
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = timerThreads.newThread(r);
            timerThread = t;
            return t;
        });
        this.timer.setRemoveOnCancelPolicy(true);
        this.callbacks = new ThreadPoolExecutor(callbackThreads, callbackThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), daemonThreads("tidewire-callback-" + id));
        this.callbacks.allowCoreThreadTimeOut(true);
        long tick = timerTick.toNanos();
        timer.scheduleAtFixedRate(this::tick, tick, tick, TimeUnit.NANOSECONDS);
    }

    /** Resources with the default tick and {@code max(2, cores)} callback threads. */
    public static TransportResources create() {
        return create(DEFAULT_TIMER_TICK, Math.max(2, Runtime.getRuntime().availableProcessors()));
    }

    /**
     * @param timerTick       timer resolution, 1 ms .. 1 s
     * @param callbackThreads threads completing user futures, 1 .. 1024 (started on demand, idle ones exit after 30 s)
     */
    public static TransportResources create(Duration timerTick, int callbackThreads) {
        Objects.requireNonNull(timerTick, "timerTick");
        if (timerTick.compareTo(Duration.ofMillis(1)) < 0 || timerTick.compareTo(Duration.ofSeconds(1)) > 0) {
            throw new IllegalArgumentException("timerTick must be in 1 ms .. 1 s, got " + timerTick);
        }
        if (callbackThreads < 1 || callbackThreads > 1024) {
            throw new IllegalArgumentException("callbackThreads must be in 1..1024, got " + callbackThreads);
        }
        return new TransportResources(timerTick, callbackThreads);
    }

    /** The timer resolution. */
    public Duration timerTick() {
        return timerTick;
    }

    /** The pool that completes user-facing futures. */
    public Executor callbackExecutor() {
        return callbacks;
    }

    /**
     * Runs {@code ticker} on the timer thread every tick with the current {@link System#nanoTime()},
     * until the returned handle is closed. The ticker must be quick and must not block.
     */
    public AutoCloseable onTick(LongConsumer ticker) {
        Objects.requireNonNull(ticker, "ticker");
        if (timer.isShutdown()) {
            throw new IllegalStateException("transport resources are closed");
        }
        tickers.add(ticker);
        return () -> tickers.remove(ticker);
    }

    /** Runs {@code task} once on the timer thread after {@code delay}. */
    public void schedule(Runnable task, Duration delay) {
        timer.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
    }

    /** Whether the calling thread is the timer thread, which must never block. */
    public boolean isTimerThread() {
        return Thread.currentThread() == timerThread;
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return timer.isShutdown();
    }

    /**
     * Stops the timer and the callback pool. Close every connection first: calls still pending on
     * a live connection then lose their timeouts. Idempotent; waits up to 5 s for the threads.
     */
    @Override
    public void close() {
        timer.shutdownNow();
        callbacks.shutdown();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
            if (!callbacks.awaitTermination(5, TimeUnit.SECONDS)) {
                callbacks.shutdownNow();
            }
        } catch (InterruptedException e) {
            callbacks.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private void tick() {
        long now = System.nanoTime();
        for (LongConsumer t : tickers) {
            try {
                t.accept(now);
            } catch (Throwable e) {
                LOG.log(Level.ERROR, "timer task failed; it keeps running on the next tick", e);
            }
        }
    }

    static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
