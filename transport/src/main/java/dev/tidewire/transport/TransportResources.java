package dev.tidewire.transport;

import dev.tidewire.transport.internal.NettyRuntime;
import dev.tidewire.transport.internal.RateLimitedLog;
import dev.tidewire.transport.internal.RuntimeRequirements;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * The threads every connection of a client shares: Netty event loops that do all socket I/O and
 * every timer (deadlines, heartbeats), and a small pool that completes futures handed to users
 * (so application code never runs on an event loop). Create one per client, or share one among
 * several clients (each connection is bound to one loop for its life; the number of threads does
 * not grow with the number of connections), and close it last.
 *
 * <pre>{@code
 * try (TransportResources resources = TransportResources.builder().ioThreads(2).build();
 *      Connection c = Connection.open(address, ConnectionOptions.defaults(), resources)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Threads: {@code tidewire-io-<k>-<p>-<n>}, {@link #ioThreads()} event loops (started as
 * connections are bound to them) (epoll where its
 * native library loads, NIO elsewhere), and {@code tidewire-callback-<k>-<n>}, up to
 * {@code callbackThreads}, started on demand, idle ones exit after 30 s. There is no timer thread:
 * each loop runs one periodic tick every {@link #timerTick()} for the connections it owns.
 *
 * <p>Why one periodic tick instead of a timer task per call: scheduling and cancelling a task for
 * each of ~10^5 calls per second costs a heap operation on every call; a tick every
 * {@link #timerTick()} that walks the calls in flight costs nothing per call and bounds how late a
 * timeout fires to one tick.
 */
public final class TransportResources implements AutoCloseable {
    /** Default timer resolution: 10 ms. Timeouts fire at most this late. */
    public static final Duration DEFAULT_TIMER_TICK = Duration.ofMillis(10);

    private static final System.Logger LOG = System.getLogger(TransportResources.class.getName());
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Duration timerTick;
    private final int ioThreads;
    private final EventLoopGroup loops;
    private final ThreadPoolExecutor callbacks;
    private final Map<EventExecutor, LoopTicker> tickers = new ConcurrentHashMap<>();
    // a task that throws every tick is one ERROR line per window, not one per tick
    private final RateLimitedLog timerFailures = new RateLimitedLog(LOG);
    private volatile boolean closed;

    private TransportResources(Duration timerTick, int callbackThreads, int ioThreads) {
        int id = INSTANCES.incrementAndGet();
        this.timerTick = timerTick;
        this.ioThreads = ioThreads;
        this.loops = NettyRuntime.newEventLoopGroup(ioThreads, "tidewire-io-" + id);
        AtomicInteger callbackNumbers = new AtomicInteger();
        this.callbacks = new ThreadPoolExecutor(callbackThreads, callbackThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> new CallbackThread(this, r,
                        "tidewire-callback-" + id + "-" + callbackNumbers.incrementAndGet()));
        this.callbacks.allowCoreThreadTimeOut(true);
    }

    /** Resources with the default tick, {@code max(2, cores)} callback threads and one event loop per core. */
    public static TransportResources create() {
        return builder().build();
    }

    /**
     * @param timerTick       timer resolution, 1 ms .. 1 s
     * @param callbackThreads threads completing user futures, 1 .. 1024 (started on demand, idle ones exit after 30 s)
     */
    public static TransportResources create(Duration timerTick, int callbackThreads) {
        return builder().timerTick(timerTick).callbackThreads(callbackThreads).build();
    }

    /**
     * A builder with every default.
     *
     * @throws IllegalStateException if the Netty on the class path is older than 4.2, or Jackson
     *                               older than 2.15 (the message names what was found)
     */
    public static Builder builder() {
        RuntimeRequirements.check();
        return new Builder();
    }

    /** The timer resolution. */
    public Duration timerTick() {
        return timerTick;
    }

    /** The number of event-loop threads. */
    public int ioThreads() {
        return ioThreads;
    }

    /** The pool that completes user-facing futures. */
    public Executor callbackExecutor() {
        return callbacks;
    }

    /**
     * The event loops; connections register their channels here. For the transport's own use:
     * anything run on a loop must never block.
     */
    public EventLoopGroup eventLoops() {
        return loops;
    }

    /**
     * Runs {@code ticker} on {@code loop} every tick with the current {@link System#nanoTime()},
     * until the returned handle is closed. The ticker must be quick and must not block.
     *
     * @throws IllegalStateException if the resources are closed
     */
    public AutoCloseable onTick(EventLoop loop, LongConsumer ticker) {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(ticker, "ticker");
        if (closed) {
            throw new IllegalStateException("transport resources are closed");
        }
        LoopTicker t = tickers.computeIfAbsent(loop, l -> new LoopTicker((EventLoop) l));
        t.tickers.add(ticker);
        return () -> t.tickers.remove(ticker);
    }

    /**
     * Runs {@code task} once after {@code delay} on an event loop. The task must be quick and must
     * not block; hand anything longer to {@link #callbackExecutor()}.
     *
     * @return the scheduled task: cancel it when it is no longer needed, so that what it refers
     *         to is not kept until {@code delay} is over
     * @throws RejectedExecutionException if the resources are closed
     */
    public java.util.concurrent.ScheduledFuture<?> schedule(Runnable task, Duration delay) {
        if (closed) {
            throw new RejectedExecutionException("transport resources are closed");
        }
        return loops.next().schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
    }

    /** Whether the calling thread is one of these event loops, which must never block. */
    public boolean inEventLoop() {
        for (EventExecutor e : loops) {
            if (e.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the calling thread is one of these event loops (the old name: the loops now run the
     * timer too).
     */
    public boolean isTimerThread() {
        return inEventLoop();
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Stops the event loops and the callback pool. Close every connection first: calls still
     * pending on a live connection then lose their timeouts. Idempotent. Waits up to 5 s for the
     * threads, and not at all when called from one of the loops or of the callback threads (a
     * thread cannot wait for its own pool to end; its pool ends once it returns).
     */
    @Override
    public void close() {
        closed = true;
        for (LoopTicker t : tickers.values()) {
            t.cancel();
        }
        Future<?> stopped = loops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        callbacks.shutdown();
        if (inEventLoop() || (Thread.currentThread() instanceof CallbackThread t && t.owner == this)) {
            return;
        }
        try {
            stopped.await(5, TimeUnit.SECONDS);
            if (!callbacks.awaitTermination(5, TimeUnit.SECONDS)) {
                callbacks.shutdownNow();
            }
        } catch (InterruptedException e) {
            callbacks.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "TransportResources[ioThreads=" + ioThreads + ", transport=" + NettyRuntime.transportName()
                + ", timerTick=" + timerTick + ", closed=" + closed + "]";
    }

    /** A thread of the callback pool, which knows its resources. */
    private static final class CallbackThread extends Thread {
        final TransportResources owner;

        CallbackThread(TransportResources owner, Runnable task, String name) {
            super(task, name);
            this.owner = owner;
            setDaemon(true);
        }
    }

    /** One periodic task per loop that runs every ticker registered on that loop. Loop-confined but for the list. */
    private final class LoopTicker implements Runnable {
        private final List<LongConsumer> tickers = new CopyOnWriteArrayList<>();
        private final Future<?> task;

        LoopTicker(EventLoop loop) {
            long tick = timerTick.toNanos();
            this.task = loop.scheduleAtFixedRate(this, tick, tick, TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            long now = System.nanoTime();
            for (LongConsumer t : tickers) {
                try {
                    t.accept(now);
                } catch (Throwable e) {
                    timerFailures.failure(Level.ERROR, "timer task",
                            () -> "timer task failed (" + e + "); it keeps running on the next tick", e);
                }
            }
        }

        void cancel() {
            task.cancel(false);
        }
    }

    /** Builds {@link TransportResources}. Not thread-safe. */
    public static final class Builder {
        private Duration timerTick = DEFAULT_TIMER_TICK;
        private int callbackThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private int ioThreads = Runtime.getRuntime().availableProcessors();

        private Builder() {
        }

        /** Timer resolution, 1 ms .. 1 s; default 10 ms. */
        public Builder timerTick(Duration timerTick) {
            Objects.requireNonNull(timerTick, "timerTick");
            if (timerTick.compareTo(Duration.ofMillis(1)) < 0 || timerTick.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("timerTick must be in 1 ms .. 1 s, got " + timerTick);
            }
            this.timerTick = timerTick;
            return this;
        }

        /** Threads completing user futures, 1 .. 1024; default {@code max(2, cores)}. */
        public Builder callbackThreads(int callbackThreads) {
            if (callbackThreads < 1 || callbackThreads > 1024) {
                throw new IllegalArgumentException("callbackThreads must be in 1..1024, got " + callbackThreads);
            }
            this.callbackThreads = callbackThreads;
            return this;
        }

        /** Event-loop threads doing all socket I/O and timers, 1 .. 256; default the number of cores. */
        public Builder ioThreads(int ioThreads) {
            if (ioThreads < 1 || ioThreads > 256) {
                throw new IllegalArgumentException("ioThreads must be in 1..256, got " + ioThreads);
            }
            this.ioThreads = ioThreads;
            return this;
        }

        /** Starts the event loops (the callback threads start on demand). */
        public TransportResources build() {
            return new TransportResources(timerTick, callbackThreads, ioThreads);
        }
    }
}
