package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.pool.PoolStats;
import dev.tidewire.server.TidewireServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** 64 callers x 5,000 calls through the facade on 4 connections: every reply is its own. */
class ClientLoadTest {
    private static final int CALLERS = 64;
    private static final int CALLS = 5_000;

    @Test
    void everyReplyMatchesItsRequestAndNothingIsLeftBehind() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).maxConnections(4).build()) {
            ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                results.add(callers.submit(() -> {
                    go.await();
                    SplittableRandom random = new SplittableRandom(caller);
                    for (int i = 0; i < CALLS; i++) {
                        Message request = new Message("caller-" + caller + "-" + i, Long.toHexString(random.nextLong()));
                        Message reply = (i % 2 == 0)
                                ? client.call("echo", request, Message.class)
                                : client.callAsync("echo", request, Message.class).get(10, TimeUnit.SECONDS);
                        assertEquals(request, reply);
                    }
                    return CALLS;
                }));
            }
            long start = System.nanoTime();
            go.countDown();
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(240, TimeUnit.SECONDS);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            callers.shutdownNow();
            assertEquals(CALLERS * CALLS, total);
            System.out.printf("%d calls in %.1f s (%.0f calls/s) over %d connections%n", total, seconds, total / seconds,
                    server.stats().connectionsAccepted());
            assertEquals(0, client.inFlight());
            await().atMost(Duration.ofSeconds(2)).until(() -> client.poolStats().inFlight() == 0);
            PoolStats stats = client.poolStats();
            assertEquals(0, stats.active(), "every lease returned");
            assertEquals(0, stats.waiting());
            assertTrue(stats.open() <= 4);
            assertEquals(0, stats.lateResponses());
        } finally {
            server.close();
        }
    }
}
