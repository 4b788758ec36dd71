package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.TidewireException;
import dev.tidewire.server.TidewireServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * The server dies mid-load and comes back on the same port: calls during the outage fail with
 * typed errors by their deadlines, and the same client recovers without being rebuilt.
 */
class ServerRestartTest {
    private static final Duration TIMEOUT = Duration.ofMillis(500);

    @Test
    void theSameClientRecoversAfterTheServerRestarts() throws Exception {
        TidewireServer first = TidewireServer.builder().build().start();
        int port = first.port();
        ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();
        AtomicLong ok = new AtomicLong();
        AtomicLong late = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (TidewireClient client = TidewireClient.builder().address("127.0.0.1", port).maxConnections(4)
                .requestTimeout(TIMEOUT).connectBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build()) {
            ExecutorService callers = Executors.newFixedThreadPool(16);
            List<Future<?>> all = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int caller = t;
                all.add(callers.submit(() -> {
                    for (int i = 0; i < 1_000_000 && !stop.get(); i++) {
                        Message request = new Message("c" + caller, "i" + i);
                        long start = System.nanoTime();
                        try {
                            assertEquals(request, client.call("echo", request, Message.class));
                            ok.incrementAndGet();
                        } catch (TidewireException e) {
                            errors.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder()).increment();
                        }
                        if (System.nanoTime() - start > TIMEOUT.plusMillis(300).toNanos()) {
                            late.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> ok.get() > 1_000);
            first.close(); // abrupt: connections drop with calls in flight
            long okAtKill = ok.get();
            await().atMost(Duration.ofSeconds(5)).until(() -> !errors.isEmpty());
            TidewireServer second = TidewireServer.builder().port(port).build().start();
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> ok.get() > okAtKill + 1_000);
                stop.set(true);
                for (Future<?> f : all) {
                    f.get(30, TimeUnit.SECONDS); // a wrong reply or an untyped exception would surface here
                }
                callers.shutdownNow();
                System.out.println("ok " + ok.get() + ", errors " + errors);
                assertEquals(0, late.get(), "every call ended by its deadline");
                assertTrue(second.stats().requests() > 1_000, "the same client now talks to the new server");
                assertEquals(0, client.inFlight());
            } finally {
                second.close();
            }
        } finally {
            stop.set(true);
            first.close();
        }
    }
}
