package dev.tidewire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.RequestTimeoutException;
import dev.tidewire.server.TidewireServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link TidewireClient#batch}: what a user relies on when fanning out calls from one thread. */
class BatchTest {
    private TidewireServer server;
    private TidewireClient client;

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(server.address()).maxConnections(2).build();
        // a batch holds requests for connections that are open; a call waiting for a connect is
        // sent when it opens (see TidewireClient.batch)
        client.call("echo", new Message("warm", "up"), Message.class);
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
    }

    @Test
    void aFanOutInABatchGetsEveryReplyToItsOwnCaller() throws Exception {
        List<CompletableFuture<Message>> calls = new ArrayList<>();
        client.batch(() -> {
            for (int i = 0; i < 500; i++) {
                calls.add(client.callAsync("echo", new Message("b-" + i, "v" + i), Message.class));
            }
            assertFalse(calls.get(0).isDone(), "nothing was sent before the block ended");
        });
        for (int i = 0; i < 500; i++) {
            assertEquals(new Message("b-" + i, "v" + i), calls.get(i).get(5, TimeUnit.SECONDS));
        }
        assertEquals(0, client.inFlight());
        assertEquals(0, client.poolStats().active());
    }

    @Test
    void aBatchHoldsNoPoolPermitWhileItsCodeRuns() throws Exception {
        try (TidewireClient one = TidewireClient.builder().address(server.address()).maxConnections(1).build()) {
            CompletableFuture<Message> fromOtherThread = new CompletableFuture<>();
            one.batch(() -> {
                one.callAsync("echo", new Message("in-batch", "1"), Message.class);
                assertEquals(0, one.poolStats().active(), "the lease went back after the call was queued");
                // another thread's call finds the only permit free while this block is still running
                Thread other = new Thread(() -> {
                    try {
                        fromOtherThread.complete(one.call("echo", new Message("other", "2"), Message.class));
                    } catch (RuntimeException e) {
                        fromOtherThread.completeExceptionally(e);
                    }
                });
                other.start();
                try {
                    assertEquals(new Message("other", "2"), fromOtherThread.get(4, TimeUnit.SECONDS));
                } catch (Exception e) {
                    throw new AssertionError("the other thread's call did not complete", e);
                }
            });
        }
    }

    @Test
    void aBlockingCallInsideABatchSendsWhatWasQueuedFirst() throws Exception {
        List<CompletableFuture<Message>> before = new ArrayList<>();
        Message[] blocking = new Message[1];
        long start = System.nanoTime();
        client.batch(() -> {
            before.add(client.callAsync("echo", new Message("queued", "1"), Message.class));
            blocking[0] = client.call("echo", new Message("blocking", "2"), Message.class);
        });
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4), "answered well before the 5 s deadline");
        assertEquals(new Message("blocking", "2"), blocking[0]);
        assertEquals(new Message("queued", "1"), before.get(0).get(5, TimeUnit.SECONDS));
    }

    @Test
    void waitingForAResultInsideABatchEndsAtTheDeadlineNotSent() {
        List<Throwable> failure = new ArrayList<>();
        client.batch(() -> {
            CompletableFuture<Message> call = client.callAsync("echo", new Message("x", "y"), Message.class,
                    CallOptions.timeout(Duration.ofMillis(300)));
            try {
                call.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                failure.add(e.getCause());
            } catch (Exception e) {
                failure.add(e);
            }
        });
        RequestTimeoutException timeout = assertInstanceOf(RequestTimeoutException.class, failure.get(0));
        assertFalse(timeout.sent(), "its request was still queued: safe to retry");
    }

    @Test
    void aNullBlockIsRefused() {
        assertThrows(NullPointerException.class, () -> client.batch(null));
    }
}
