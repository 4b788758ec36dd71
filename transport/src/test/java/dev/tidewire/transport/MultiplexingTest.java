package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.internal.MultiplexedConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Many callers on one connection, replies out of order: each reply reaches its own caller. */
class MultiplexingTest {
    private static final int THREADS = 64;
    private static final int CALLS_PER_THREAD = 2_000;

    @Test
    void sixtyFourThreadsShareOneConnectionAndEveryReplyMatchesItsRequest() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create();
             Connection connection = Connection.open(server.address(), ConnectionOptions.defaults(), resources)) {
            AtomicLong outOfOrderEvidence = new AtomicLong();
            ExecutorService callers = Executors.newFixedThreadPool(THREADS);
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long seed = 1000 + t;
                tasks.add(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    int ok = 0;
                    for (int i = 0; i < CALLS_PER_THREAD; i++) {
                        String val = randomText(random);
                        boolean delayed = random.nextBoolean();
                        String json = delayed
                                ? "{\"millis\":" + random.nextInt(0, 4) + ",\"caller\":" + seed + ",\"i\":" + i + ",\"val\":\"" + val + "\"}"
                                : "{\"caller\":" + seed + ",\"i\":" + i + ",\"val\":\"" + val + "\"}";
                        byte[] body = json.getBytes(StandardCharsets.UTF_8);
                        // half the calls complete directly (blocking style), half on the callback pool
                        var future = random.nextBoolean()
                                ? connection.call(delayed ? "sleep" : "echo", body, Deadline.after(Duration.ofSeconds(10)), null)
                                : connection.call(delayed ? "sleep" : "echo", body, Duration.ofSeconds(10));
                        byte[] reply = future.get(15, TimeUnit.SECONDS);
                        assertArrayEquals(body, reply, "caller " + seed + " call " + i);
                        ok++;
                    }
                    return ok;
                });
            }
            long start = System.nanoTime();
            List<Future<Integer>> results = callers.invokeAll(tasks, 120, TimeUnit.SECONDS);
            callers.shutdownNow();
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(THREADS * CALLS_PER_THREAD, total);

            MultiplexedConnection c = (MultiplexedConnection) connection;
            ConnectionStats stats = connection.stats();
            assertEquals(0, c.pendingCount(), "in-flight map is empty");
            assertEquals(0, stats.inFlight());
            assertEquals(0, stats.waiting());
            assertEquals(0, stats.lateResponses());
            assertEquals(1, server.stats().connectionsAccepted());
            // concurrent writers were coalesced: fewer socket writes than frames
            assertTrue(stats.socketWrites() < stats.framesWritten(),
                    "writes " + stats.socketWrites() + " vs frames " + stats.framesWritten());
            System.out.printf("%d calls in %.1f s; %d frames in %d socket writes (%.2f frames/write)%n", total, seconds,
                    stats.framesWritten(), stats.socketWrites(), stats.framesWritten() / (double) stats.socketWrites());
            outOfOrderEvidence.set(server.stats().maxObservedInFlight());
            assertTrue(outOfOrderEvidence.get() > 1, "calls were really concurrent on the connection");
        } finally {
            server.close();
        }
    }

    private static String randomText(SplittableRandom random) {
        int n = random.nextInt(1, 200);
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) ('a' + random.nextInt(26)));
        }
        return sb.toString();
    }
}
