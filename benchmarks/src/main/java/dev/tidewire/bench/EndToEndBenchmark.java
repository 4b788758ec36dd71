package dev.tidewire.bench;

import dev.tidewire.Metadata;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Whole calls: a {@link TidewireClient} making ~100-byte JSON {@code echo} calls to a
 * {@link TidewireServer} on 127.0.0.1 in the same JVM (both started once per trial), so every
 * layer counts: Jackson on both sides, the pool, the multiplexed connection, the codec, loopback
 * TCP and the server's dispatch.
 *
 * <ul>
 *   <li>{@code call}: each invocation is one blocking {@code client.call}; the concurrent callers are
 *       the JMH threads, so run it with {@code -t 16}, {@code -t 64}, ... (default 1).</li>
 *   <li>{@code callAsync}: each JMH thread keeps {@code outstanding} {@code callAsync} calls in flight
 *       (an invocation waits for a free slot, then issues one call), i.e. threads × outstanding
 *       calls in flight without a thread per call.</li>
 *   <li>{@code callAsyncTraceparent}: {@code callAsync} with a W3C {@code traceparent} in every
 *       call's metadata ({@link CallOptions#metadata}), as a traced caller sends it; the server
 *       announces metadata, so both async benchmarks send REQUEST_EXT frames with the deadline, and
 *       they differ by the one 55-byte entry.</li>
 * </ul>
 * {@code maxConnections} is the client's pool size. Throughput in calls/s over all threads.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class EndToEndBenchmark {
    static final String OP = "echo";
    static final CallOptions TRACEPARENT = CallOptions.metadata(Metadata.of("traceparent", CodecBenchmark.TRACEPARENT));
    private static final AtomicInteger CALLER_IDS = new AtomicInteger();

    /** The request and reply: about 100 bytes of JSON, like the {@code demo} load. */
    public static final class Echo {
        static final String PAD = "tidewire".repeat(8);

        public int caller;
        public long seq;
        public String pad;

        public Echo() {
        }

        Echo(int caller) {
            this.caller = caller;
            this.pad = PAD;
        }
    }

    /** The server and the client under test, shared by all threads. */
    @State(Scope.Benchmark)
    public static class Loopback {
        /** The client's maximum connections. */
        @Param({"1", "2", "4", "8", "16"})
        public int maxConnections;

        LoopbackPair pair;
        TidewireClient client;

        @Setup(Level.Trial)
        public void start() {
            pair = LoopbackPair.start(maxConnections, c -> {
                Echo probe = new Echo(-1);
                check(probe, c.call(OP, probe, Echo.class));
            });
            client = pair.client;
        }

        @TearDown(Level.Trial)
        public void stop() {
            if (pair != null) {
                pair.close();
            }
        }
    }

    /** One blocking caller (a JMH thread) with its own request. */
    @State(Scope.Thread)
    public static class Caller {
        final Echo request = new Echo(CALLER_IDS.incrementAndGet());
    }

    /** One JMH thread keeping up to {@code outstanding} async calls in flight. */
    @State(Scope.Thread)
    public static class AsyncCaller {
        /** Calls this thread keeps in flight. */
        @Param({"1", "16"})
        public int outstanding;

        final Echo request = new Echo(CALLER_IDS.incrementAndGet());
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        Semaphore window;

        @Setup(Level.Iteration)
        public void open() {
            window = new Semaphore(outstanding);
        }

        /** Waits for this iteration's calls to finish, so none spill into the next one; rethrows a failure. */
        @TearDown(Level.Iteration)
        public void drain() throws InterruptedException {
            if (!window.tryAcquire(outstanding, 30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("async calls still in flight 30 s after the iteration ended");
            }
            window.release(outstanding);
            rethrowFailure();
        }

        void rethrowFailure() {
            Throwable t = failure.get();
            if (t != null) {
                throw new IllegalStateException("an async call failed: " + t, t);
            }
        }
    }

    /** One blocking echo call. */
    @Benchmark
    public Echo call(Loopback loopback, Caller caller) {
        Echo request = caller.request;
        request.seq++;
        Echo reply = loopback.client.call(OP, request, Echo.class);
        check(request, reply);
        return reply;
    }

    /** Waits for a free slot in this thread's window, then issues one async echo call. */
    @Benchmark
    public void callAsync(Loopback loopback, AsyncCaller caller) throws InterruptedException {
        callAsync(loopback, caller, CallOptions.DEFAULT);
    }

    /** {@link #callAsync} with a {@code traceparent} in the call's metadata. */
    @Benchmark
    public void callAsyncTraceparent(Loopback loopback, AsyncCaller caller) throws InterruptedException {
        callAsync(loopback, caller, TRACEPARENT);
    }

    private static void callAsync(Loopback loopback, AsyncCaller caller, CallOptions options)
            throws InterruptedException {
        caller.window.acquire();
        caller.rethrowFailure();
        Echo request = caller.request;
        long seq = ++request.seq;
        int id = request.caller;
        Semaphore window = caller.window;
        // the request is encoded before callAsync returns, so reusing the object is safe
        loopback.client.callAsync(OP, request, Echo.class, options).whenComplete((reply, error) -> {
            if (error != null) {
                caller.failure.compareAndSet(null, error);
            } else if (reply == null || reply.seq != seq || reply.caller != id) {
                caller.failure.compareAndSet(null, new IllegalStateException("echo reply does not match its request"));
            }
            window.release();
        });
    }

    static void check(Echo request, Echo reply) {
        if (reply == null || reply.seq != request.seq || reply.caller != request.caller) {
            throw new IllegalStateException("echo reply does not match its request");
        }
    }
}
