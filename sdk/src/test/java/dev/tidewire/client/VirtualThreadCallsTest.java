package dev.tidewire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tidewire.server.TidewireServer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Blocking calls from virtual threads (JDK 21+; {@code .ci/run} runs the suite again on JDK 25):
 * every caller gets its own replies, and the callers need no platform thread each, since a
 * caller parks on a {@code CompletableFuture} and the I/O happens on the event loops.
 */
class VirtualThreadCallsTest {
    private static final int CALLERS = 256;
    private static final int CALLS_EACH = 50;

    @Test
    void twoHundredFiftySixVirtualThreadsEachGetTheirOwnReplies() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21+, running on " + Runtime.version());
        TidewireServer server = TidewireServer.builder().build().start();
        int platformBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        AtomicInteger mostPlatform = new AtomicInteger(platformBefore);
        ExecutorService callers = virtualThreadPerTask();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).maxConnections(4)
                .requestTimeout(Duration.ofSeconds(2)).build()) {
            List<Future<Integer>> all = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                all.add(callers.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < CALLS_EACH; i++) {
                        Message request = new Message("vt-" + caller, Integer.toString(i));
                        assertEquals(request, client.call("echo", request, Message.class));
                        ok++;
                        mostPlatform.accumulateAndGet(ManagementFactory.getThreadMXBean().getThreadCount(), Math::max);
                    }
                    return ok;
                }));
            }
            int ok = 0;
            for (Future<Integer> f : all) {
                ok += f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(CALLERS * CALLS_EACH, ok);
            assertEquals(0, client.inFlight());
            // ThreadMXBean counts platform threads only: the carriers (one per core), the loops, the
            // server's threads; never one per caller
            int grew = mostPlatform.get() - platformBefore;
            System.out.printf("%d virtual callers x %d calls; platform threads grew by at most %d%n", CALLERS,
                    CALLS_EACH, grew);
            assertTrue(grew < CALLERS / 4, "platform threads grew by " + grew + " for " + CALLERS + " virtual callers");
        } finally {
            callers.shutdownNow();
            server.close();
        }
    }

    /** {@code Executors.newVirtualThreadPerTaskExecutor()}, reached by reflection: this code targets Java 17. */
    private static ExecutorService virtualThreadPerTask() throws ReflectiveOperationException {
        return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    }
}
