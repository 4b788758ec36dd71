package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A call made on an event loop (an async continuation on the direct callback executor) goes out
 * on a connection that loop serves, so its reply comes back to the same loop: no hand-off to
 * another loop, and chains of calls stay where they started while the loops share the work.
 */
class LoopAffinityTest {
    private TidewireServer server;
    private TidewireClient client;

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address("127.0.0.1:" + server.port()).ioThreads(2).maxConnections(4)
                .minIdle(4).callbackExecutor(Runnable::run).requestTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        server.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    @Test
    void callsMadeOnAnEventLoopAreAnsweredOnThatLoop() throws Exception {
        // a full pool (minIdle 4): 4 connections, each served by one of the 2 loops
        await().atMost(Duration.ofSeconds(10)).until(() -> client.poolStats().open() == 4);

        int chains = 32;
        int links = 50;
        AtomicInteger madeOnALoop = new AtomicInteger();
        AtomicInteger answeredElsewhere = new AtomicInteger();
        Set<String> loops = ConcurrentHashMap.newKeySet();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int c = 0; c < chains; c++) {
            CompletableFuture<Void> end = new CompletableFuture<>();
            done.add(end);
            link(c, 0, links, end, madeOnALoop, answeredElsewhere, loops);
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

        // nearly every link after the first starts on a loop: in its predecessor's callback, which
        // runs on the caller's own thread instead when the reply came before the callback was attached
        assertTrue(madeOnALoop.get() >= chains * (links - 1) / 2, () -> madeOnALoop + " calls made on a loop");
        assertEquals(0, answeredElsewhere.get(), "calls made on one loop and answered on another");
        assertEquals(2, loops.size(), () -> "both loops carry chains: " + loops);
    }

    /** Call {@code i} of chain {@code c}: checks its echo, then makes call i + 1 from the callback. */
    private void link(int c, int i, int links, CompletableFuture<Void> end, AtomicInteger madeOnALoop,
            AtomicInteger answeredElsewhere, Set<String> loops) {
        Thread caller = Thread.currentThread();
        boolean onLoop = caller.getName().startsWith("tidewire-io-");
        if (onLoop) {
            madeOnALoop.incrementAndGet();
        }
        byte[] body = bytes(c + "/" + i);
        client.callRawAsync("echo", body).whenComplete((reply, error) -> {
            if (error != null) {
                end.completeExceptionally(error);
                return;
            }
            try {
                assertArrayEquals(body, reply);
            } catch (AssertionError e) {
                end.completeExceptionally(e);
                return;
            }
            if (Thread.currentThread().getName().startsWith("tidewire-io-")) {
                loops.add(Thread.currentThread().getName()); // not the test's thread (a reply that came first)
            }
            if (onLoop && Thread.currentThread() != caller) {
                answeredElsewhere.incrementAndGet();
            }
            if (i + 1 == links) {
                end.complete(null);
            } else {
                link(c, i + 1, links, end, madeOnALoop, answeredElsewhere, loops);
            }
        });
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theClientNamesItsLoopThreadsAsThisTestExpects() throws Exception {
        String name = client.callRawAsync("echo", bytes("x")).thenApply(r -> Thread.currentThread().getName())
                .get(5, TimeUnit.SECONDS);
        assertTrue(name.startsWith("tidewire-io-"), name);
    }
}
