package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ClientClosedException;
import dev.tidewire.TooManyPendingCallsException;
import dev.tidewire.server.TidewireServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code maxPendingCalls}: a call beyond the limit fails at once, typed and retryable, without
 * reaching the server; the calls within it are unaffected, and the limit frees as they end.
 */
class PendingLimitTest {
    private static final int LIMIT = 8;

    private final AtomicInteger received = new AtomicInteger();
    private final ConcurrentLinkedQueue<CompletableFuture<byte[]>> held = new ConcurrentLinkedQueue<>();
    private TidewireServer server;

    @BeforeEach
    void start() {
        // "hold" answers only when the test releases it, so calls stay pending as long as the test wants
        server = TidewireServer.builder().handler("hold", request -> {
            received.incrementAndGet();
            CompletableFuture<byte[]> reply = new CompletableFuture<>();
            held.add(reply);
            return reply;
        }).build().start();
    }

    @AfterEach
    void stop() {
        releaseHeld();
        server.close();
    }

    private void releaseHeld() {
        for (CompletableFuture<byte[]> reply; (reply = held.poll()) != null; ) {
            reply.complete("\"done\"".getBytes());
        }
    }

    @Test
    void callsBeyondTheLimitFailAtOnceWithoutBeingSent() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).maxConnections(2)
                .maxPendingCalls(LIMIT).meterRegistry(registry).requestTimeout(Duration.ofSeconds(10)).build()) {
            List<CompletableFuture<String>> within = new ArrayList<>();
            for (int i = 0; i < LIMIT; i++) {
                within.add(client.callAsync("hold", i, String.class));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> received.get() == LIMIT);
            assertEquals(LIMIT, client.inFlight());

            // async: a future already failed, typed, retryable, naming the op and the limit
            CompletableFuture<String> refused = client.callAsync("hold", "one more", String.class);
            assertTrue(refused.isCompletedExceptionally(), "refused at once, not queued");
            ExecutionException e = assertThrows(ExecutionException.class, () -> refused.get(1, TimeUnit.SECONDS));
            TooManyPendingCallsException tooMany = assertInstanceOf(TooManyPendingCallsException.class, e.getCause());
            assertTrue(tooMany.retryable(), "nothing was sent");
            assertEquals(LIMIT, tooMany.limit());
            assertTrue(tooMany.getMessage().contains("'hold'") && tooMany.getMessage().contains("maxPendingCalls"),
                    tooMany.getMessage());

            // blocking: thrown at once, long before the 10 s timeout
            long start = System.nanoTime();
            assertThrows(TooManyPendingCallsException.class, () -> client.call("hold", "and one more", String.class));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "refused without waiting for the deadline");

            assertEquals(LIMIT, client.inFlight(), "refusals are not counted as pending");
            assertEquals(2, registry.get("tidewire.requests").tag("op", "hold").tag("outcome", "too_many_pending")
                    .timer().count());

            // the calls within the limit end normally, and the limit frees as they do
            releaseHeld();
            for (CompletableFuture<String> call : within) {
                assertEquals("done", call.get(5, TimeUnit.SECONDS));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> client.inFlight() == 0);
            CompletableFuture<String> later = client.callAsync("hold", "later", String.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> received.get() == LIMIT + 1);
            releaseHeld();
            assertEquals("done", later.get(5, TimeUnit.SECONDS));
            assertEquals(LIMIT + 1, received.get(), "the refused calls never reached the server");
        }
    }

    @Test
    void manyCallersRacingForTheLastSlotsNeverExceedTheLimit() throws Exception {
        try (TidewireClient client = TidewireClient.builder().address(server.address()).maxConnections(2)
                .maxPendingCalls(LIMIT).requestTimeout(Duration.ofSeconds(10)).build()) {
            int attempts = 200;
            List<Thread> threads = new ArrayList<>();
            ConcurrentLinkedQueue<CompletableFuture<String>> results = new ConcurrentLinkedQueue<>();
            for (int t = 0; t < 4; t++) {
                Thread thread = new Thread(() -> {
                    for (int i = 0; i < attempts / 4; i++) {
                        results.add(client.callAsync("hold", i, String.class));
                    }
                });
                threads.add(thread);
                thread.start();
            }
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            }
            List<CompletableFuture<String>> calls = new ArrayList<>(results);
            assertEquals(attempts, calls.size());
            long refused = calls.stream().filter(CompletableFuture::isCompletedExceptionally).count();
            assertEquals(attempts - LIMIT, refused, "exactly the calls beyond the limit are refused");
            await().atMost(Duration.ofSeconds(5)).until(() -> received.get() == LIMIT);
            releaseHeld();
            long ok = 0;
            for (CompletableFuture<String> call : calls) {
                try {
                    assertEquals("done", call.get(5, TimeUnit.SECONDS));
                    ok++;
                } catch (ExecutionException e) {
                    assertInstanceOf(TooManyPendingCallsException.class, e.getCause());
                }
            }
            assertEquals(LIMIT, ok, "every admitted call succeeded");
            assertEquals(LIMIT, received.get());
        }
    }

    @Test
    void aClosedClientReportsTheCloseNotTheLimit() {
        TidewireClient client = TidewireClient.builder().address(server.address()).maxPendingCalls(1)
                .requestTimeout(Duration.ofSeconds(10)).build();
        client.callAsync("hold", 1, String.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> received.get() == 1);
        client.shutdownNow();
        assertThrows(ClientClosedException.class, () -> client.call("hold", 2, String.class));
    }

    @Test
    void theLimitIsValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TidewireClient.builder().maxPendingCalls(0));
        assertTrue(e.getMessage().contains("maxPendingCalls"), e.getMessage());
        assertEquals(TidewireClient.Builder.DEFAULT_MAX_PENDING_CALLS,
                TidewireClient.builder().address(server.address()).buildOptions().maxPendingCalls());
    }
}
