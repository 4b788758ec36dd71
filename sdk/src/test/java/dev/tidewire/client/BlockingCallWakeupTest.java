package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tidewire.ConnectionLostException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.FaultProxy;
import dev.tidewire.testing.Leaks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Blocking callers parked for their replies ({@code BlockingWait}) leave by every way a call can
 * end: their replies (many callers per read, woken together), their deadlines (the transport's
 * timer), an interrupt (the call is cancelled), the connection's loss; from virtual threads too.
 */
class BlockingCallWakeupTest {
    private TidewireServer server;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        server.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    private TidewireClient client(String address) {
        TidewireClient c = TidewireClient.builder().address(address).maxConnections(2)
                .requestTimeout(Duration.ofSeconds(5)).build();
        closing.add(0, c::shutdownNow);
        return c;
    }

    /** 64 callers on 2 connections: replies arrive many to a read and each caller gets its own. */
    @Test
    void manyCallersWokenTogetherEachGetTheirOwnReply() throws Exception {
        TidewireClient client = client("127.0.0.1:" + server.port());
        ExecutorService callers = Executors.newFixedThreadPool(64);
        closing.add(0, callers::shutdownNow);
        List<Future<Integer>> all = new ArrayList<>();
        for (int t = 0; t < 64; t++) {
            int caller = t;
            all.add(callers.submit(() -> {
                for (int i = 0; i < 300; i++) {
                    Message request = new Message("caller-" + caller, Integer.toString(i));
                    assertEquals(request, client.call("echo", request, Message.class));
                }
                return 300;
            }));
        }
        int calls = 0;
        for (Future<Integer> f : all) {
            calls += f.get(60, TimeUnit.SECONDS);
        }
        assertEquals(64 * 300, calls);
        assertEquals(0, client.inFlight());
    }

    @Test
    void theDeadlineWakesEveryParkedCaller() throws Exception {
        TidewireClient client = client("127.0.0.1:" + server.port());
        ExecutorService callers = Executors.newFixedThreadPool(32);
        closing.add(0, callers::shutdownNow);
        List<Future<Long>> all = new ArrayList<>();
        for (int t = 0; t < 32; t++) {
            all.add(callers.submit(() -> {
                long start = System.nanoTime();
                RequestTimeoutException e = org.junit.jupiter.api.Assertions.assertThrows(RequestTimeoutException.class,
                        () -> client.call("sleep", Map.of("millis", 5000), Message.class,
                                CallOptions.timeout(Duration.ofMillis(300))));
                assertTrue(e.sent(), e.toString());
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            }));
        }
        for (Future<Long> f : all) {
            long ms = f.get(10, TimeUnit.SECONDS);
            assertTrue(ms >= 300 && ms < 1_000, "a 300 ms call ended after " + ms + " ms");
        }
        assertEquals(0, client.inFlight());
    }

    @Test
    void anInterruptCancelsTheCallAndLeavesTheFlagSet() throws Exception {
        TidewireClient client = client("127.0.0.1:" + server.port());
        CompletableFuture<String> outcome = new CompletableFuture<>();
        Thread caller = new Thread(() -> {
            try {
                client.call("sleep", Map.of("millis", 5000), Message.class);
                outcome.complete("returned");
            } catch (CancellationException e) {
                outcome.complete("cancelled, interrupted " + Thread.currentThread().isInterrupted());
            } catch (RuntimeException e) {
                outcome.complete(e.toString());
            }
        });
        caller.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.inFlight() == 1
                && caller.getState() == Thread.State.TIMED_WAITING);
        long start = System.nanoTime();
        caller.interrupt();
        assertEquals("cancelled, interrupted true", outcome.get(10, TimeUnit.SECONDS));
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 1_000);
        assertEquals(0, client.inFlight());
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().cancelled() == 1); // CANCEL reached the server
    }

    @Test
    void theConnectionsLossWakesEveryParkedCaller() throws Exception {
        try (FaultProxy proxy = new FaultProxy(server.address())) {
            TidewireClient client = client(proxy.address().getHostString() + ":" + proxy.address().getPort());
            ExecutorService callers = Executors.newFixedThreadPool(16);
            closing.add(0, callers::shutdownNow);
            List<Future<TidewireException>> all = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                all.add(callers.submit(() -> {
                    try {
                        client.call("sleep", Map.of("millis", 10_000), Message.class,
                                CallOptions.timeout(Duration.ofSeconds(20)));
                        return null;
                    } catch (TidewireException e) {
                        return e;
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> server.stats().requests() == 16);
            long start = System.nanoTime();
            proxy.resetAll();
            for (Future<TidewireException> f : all) {
                assertInstanceOf(ConnectionLostException.class, f.get(10, TimeUnit.SECONDS));
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 2_000, "callers woke " + ms + " ms after the reset");
            assertEquals(0, client.inFlight());
        }
    }

    /**
     * 256 virtual callers (JDK 21+) each parked for a reply 300 ms away at the same time: they
     * unmount while they wait, so all are answered in about 300 ms (parked on their carriers, one
     * per core, they would take 256 / cores x 300 ms).
     */
    @Test
    void virtualThreadCallersWaitWithoutHoldingTheirCarriers() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21+, running on " + Runtime.version());
        TidewireClient client = client("127.0.0.1:" + server.port());
        ExecutorService callers = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor")
                .invoke(null);
        closing.add(0, callers::shutdownNow);
        client.call("echo", new Message("warm", "up"), Message.class);
        long start = System.nanoTime();
        List<Future<Message>> all = new ArrayList<>();
        for (int t = 0; t < 256; t++) {
            int caller = t;
            all.add(callers.submit(() -> client.call("sleep", Map.of("millis", 300, "Uid", "vt-" + caller),
                    Message.class)));
        }
        for (int t = 0; t < 256; t++) {
            assertEquals("vt-" + t, all.get(t).get(30, TimeUnit.SECONDS).uid);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms < 5_000, "256 virtual callers of a 300 ms op took " + ms + " ms");
    }
}
