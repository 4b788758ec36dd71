package dev.tidewire.pool;

import static dev.tidewire.pool.PoolTestSupport.FAST_CONNECT;
import static dev.tidewire.pool.PoolTestSupport.in;
import static dev.tidewire.pool.PoolTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.TransportResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * More callers than connections: no caller is served much worse than the others. While the pool
 * fills, callers borrow through the fair gate (with commons-pool2's own wait queue a returning
 * thread re-takes the connection before the waiter it woke can run, and a few callers starve);
 * once it is full they share its connections without a lease, and each connection's queue is
 * first come, first served.
 */
class FairBorrowTest {
    private static final int CALLERS = 64;
    private static final int CALLS = 300;

    @Test
    void sixtyFourCallersOnTwoConnectionsAreServedAboutTheSame() throws Exception {
        Map64 callTime = new Map64();
        AtomicLong borrows = new AtomicLong();
        AtomicLong created = new AtomicLong();
        AtomicLong borrowsWhenFull = new AtomicLong(-1);
        PoolListener listener = new PoolListener() {
            @Override
            public void borrowed(long waitNanos) {
                borrows.incrementAndGet();
            }

            @Override
            public void connectionCreated() {
                if (created.incrementAndGet() == 2) {
                    borrowsWhenFull.set(borrows.get()); // how long the pool took to fill depends on the machine
                }
            }
        };
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create()) {
            ConnectionPool pool = ConnectionPool.create(server.address(),
                    PoolOptions.builder().maxConnections(2).build(), FAST_CONNECT, resources, listener);
            ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> all = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                all.add(callers.submit(() -> {
                    go.await();
                    for (int i = 0; i < CALLS; i++) {
                        byte[] body = utf8("{\"caller\":" + caller + ",\"i\":" + i + "}");
                        long start = System.nanoTime();
                        assertArrayEquals(body, pool.call("echo", body, in(Duration.ofSeconds(10)), null).get(15, TimeUnit.SECONDS));
                        callTime.add(Thread.currentThread().getId(), System.nanoTime() - start);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : all) {
                f.get(120, TimeUnit.SECONDS);
            }
            callers.shutdownNow();
            assertEquals(2, pool.stats().open(), "the pool filled up");
            pool.close();

            long[] perCaller = callTime.totals();
            assertEquals(CALLERS, perCaller.length);
            Arrays.sort(perCaller);
            long median = perCaller[perCaller.length / 2];
            long max = perCaller[perCaller.length - 1];
            long calls = (long) CALLERS * CALLS;
            long afterFull = borrows.get() - borrowsWhenFull.get();
            System.out.printf("time in calls per caller over %d calls: median %.2f ms, max %.2f ms; %d borrows for %d"
                    + " calls, %d of them once the pool was full%n", CALLS, median / 1e6, max / 1e6, borrows.get(), calls,
                    afterFull);
            // no caller's total is far above the typical caller's (20 ms of slack for tiny totals)
            assertTrue(max <= 4 * median + TimeUnit.MILLISECONDS.toNanos(20),
                    "max caller time " + max / 1e6 + " ms vs median " + median / 1e6 + " ms");
            // once both connections were open, calls shared them without borrowing
            assertTrue(borrowsWhenFull.get() >= 0, "the second connection opened");
            assertTrue(afterFull < calls / 10, afterFull + " borrows for " + calls + " calls once the pool was full");
        } finally {
            server.close();
        }
    }

    /** Total time per thread id. */
    private static final class Map64 {
        private final ConcurrentHashMap<Long, AtomicLong> byThread = new ConcurrentHashMap<>();

        void add(long thread, long nanos) {
            byThread.computeIfAbsent(thread, k -> new AtomicLong()).addAndGet(nanos);
        }

        long[] totals() {
            return byThread.values().stream().mapToLong(AtomicLong::get).toArray();
        }
    }
}
