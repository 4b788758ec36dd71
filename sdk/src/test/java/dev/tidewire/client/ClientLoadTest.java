package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.pool.PoolStats;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.tidewire.server.TidewireServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * 64 callers x 5,000 calls through the facade on 4 connections, and 64 chains of pipelined async
 * calls on a direct executor: every reply is its own, every lease comes back.
 */
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

    /**
     * Each reply's callback, run on the connection's reader thread, sends the chain's next call.
     * The calls one socket read triggers share one lease (taken by the first, returned when the
     * read's frames are done), so the pool is borrowed from far less than once per call, and every
     * lease still comes back.
     */
    @Test
    void callsSentFromReplyCallbacksShareALeasePerReadAndEveryLeaseComesBack() throws Exception {
        int chains = 64;
        int perChain = 2_000;
        TidewireServer server = TidewireServer.builder().build().start();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).maxConnections(2)
                .callbackExecutor(Runnable::run).meterRegistry(registry).build()) {
            CountDownLatch done = new CountDownLatch(chains);
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            for (int c = 0; c < chains; c++) {
                next(client, c, 0, perChain, done, problems);
            }
            assertTrue(done.await(120, TimeUnit.SECONDS), "chains finished");
            assertEquals(List.of(), new ArrayList<>(problems));
            // a read lease is returned when its read ends, just after the last callback of that read
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertEquals(0, client.poolStats().inFlight());
                assertEquals(0, client.poolStats().active(), "every lease returned, read leases included");
            });
            PoolStats stats = client.poolStats();
            assertEquals(0, stats.waiting());
            long calls = (long) chains * perChain;
            long borrows = registry.get("tidewire.pool.borrow").timer().count();
            System.out.printf("%d pipelined calls, %d borrows (%.3f per call)%n", calls, borrows, (double) borrows / calls);
            assertTrue(borrows < calls / 2, borrows + " borrows for " + calls + " calls");
        } finally {
            server.close();
        }
    }

    /**
     * Two clients of one connection each, direct executors, and reply callbacks that call either
     * client: a reader thread, inside a read, may hold one client's only lease and need the
     * other's, while the other reader holds that one and needs the first. A reader
     * about to wait at a pool's gate gives back the read leases it holds first, so the two readers
     * never wait for each other: every call succeeds.
     */
    @Test
    void readersCallingEachOthersClientsNeverWaitForEachOther() throws Exception {
        int chains = 32;
        int perChain = 500;
        TidewireServer serverA = TidewireServer.builder().build().start();
        TidewireServer serverB = TidewireServer.builder().build().start();
        try (TidewireClient a = TidewireClient.builder().address(serverA.address()).maxConnections(1)
                .callbackExecutor(Runnable::run).requestTimeout(Duration.ofSeconds(5)).build();
             TidewireClient b = TidewireClient.builder().address(serverB.address()).maxConnections(1)
                .callbackExecutor(Runnable::run).requestTimeout(Duration.ofSeconds(5)).build()) {
            CountDownLatch done = new CountDownLatch(chains);
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            for (int c = 0; c < chains; c++) {
                crossNext(new TidewireClient[] {a, b}, c, 0, perChain, done, problems);
            }
            assertTrue(done.await(120, TimeUnit.SECONDS), "chains finished");
            assertEquals(List.of(), new ArrayList<>(problems));
            // the last callback counts down inside its read; the read's leases come back when it ends
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertEquals(0, a.poolStats().active(), "every lease of client a returned");
                assertEquals(0, b.poolStats().active(), "every lease of client b returned");
            });
        } finally {
            serverA.close();
            serverB.close();
        }
    }

    private static void crossNext(TidewireClient[] clients, int chain, int i, int perChain, CountDownLatch done,
            ConcurrentLinkedQueue<String> problems) {
        Message request = new Message("cross-" + chain + "-" + i, Integer.toString(i));
        // which client: mixed, so a reader holding one client's lease may need the other's next
        clients[Integer.bitCount(chain * 31 + i * 17) % 2].callAsync("echo", request, Message.class).whenComplete((reply, error) -> {
            if (error != null || !request.equals(reply)) {
                problems.add("chain " + chain + " call " + i + ": " + (error != null ? error : reply));
                done.countDown();
            } else if (i + 1 < perChain) {
                crossNext(clients, chain, i + 1, perChain, done, problems);
            } else {
                done.countDown();
            }
        });
    }

    private static void next(TidewireClient client, int chain, int i, int perChain, CountDownLatch done,
            ConcurrentLinkedQueue<String> problems) {
        Message request = new Message("chain-" + chain + "-" + i, Integer.toString(i));
        client.callAsync("echo", request, Message.class).whenComplete((reply, error) -> {
            if (error != null || !request.equals(reply)) {
                problems.add("chain " + chain + " call " + i + ": " + (error != null ? error : reply));
                done.countDown();
            } else if (i + 1 < perChain) {
                next(client, chain, i + 1, perChain, done, problems);
            } else {
                done.countDown();
            }
        });
    }
}
