package dev.tidewire.bench;

import dev.tidewire.client.TidewireClient;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 * One application thread fanning out: each invocation issues {@code fan} {@code callRawAsync}
 * echo calls (~100 bytes each) one after another, then waits for all of them. With
 * {@code batched} they are issued inside {@link TidewireClient#batch}, so their requests go out
 * in one socket write per connection instead of one each. The score is fan-outs per second;
 * multiply by {@code fan} for calls per second.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FanOutBenchmark {
    static final byte[] BODY = ("{\"caller\":1,\"seq\":0,\"pad\":\"" + "tidewire".repeat(8) + "\"}")
            .getBytes(StandardCharsets.UTF_8);

    /** The server and client (maxConnections 2), started once per trial. */
    @State(Scope.Benchmark)
    public static class Loopback {
        /** Calls per fan-out. */
        @Param({"10", "100"})
        public int fan;

        /** Whether the fan-out runs inside {@code client.batch}. */
        @Param({"false", "true"})
        public boolean batched;

        LoopbackPair pair;
        TidewireClient client;

        @Setup(Level.Trial)
        public void start() {
            pair = LoopbackPair.start(2, c -> check(c.callRaw("echo", BODY)));
            client = pair.client;
        }

        @TearDown(Level.Trial)
        public void stop() {
            if (pair != null) {
                pair.close();
            }
        }
    }

    /** One fan-out: {@code fan} calls issued, then all awaited; a wrong or failed reply fails the run. */
    @Benchmark
    public int fanOut(Loopback l) throws Exception {
        @SuppressWarnings("unchecked")
        CompletableFuture<byte[]>[] calls = new CompletableFuture[l.fan];
        Runnable issue = () -> {
            for (int i = 0; i < calls.length; i++) {
                calls[i] = l.client.callRawAsync("echo", BODY);
            }
        };
        if (l.batched) {
            l.client.batch(issue);
        } else {
            issue.run();
        }
        for (CompletableFuture<byte[]> call : calls) {
            check(call.get(10, TimeUnit.SECONDS));
        }
        return calls.length;
    }

    static void check(byte[] reply) {
        if (!Arrays.equals(reply, BODY)) {
            throw new IllegalStateException("echo reply differs from the request");
        }
    }
}
