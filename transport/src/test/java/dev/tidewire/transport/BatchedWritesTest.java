package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.internal.WriteBatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link WriteBatch#run}: calls an application thread makes inside a batch go out in one socket
 * write (one flush) at its end; made one by one they cost up to one flush each.
 */
class BatchedWritesTest {
    private static final int CALLS = 100;

    @Test
    void callsInsideABatchShareOneSocketWrite() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create();
             Connection connection = Connection.open(server.address(), ConnectionOptions.defaults(), resources)) {
            // one by one from one thread: each call asks the event loop to flush; calls made before
            // the loop gets to it share its flush
            long writes = connection.stats().socketWrites();
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                calls.add(connection.call("echo", body(i), Deadline.after(Duration.ofSeconds(5)), null));
            }
            awaitAll(calls);
            long oneByOne = connection.stats().socketWrites() - writes;

            writes = connection.stats().socketWrites();
            long frames = connection.stats().framesWritten();
            List<CompletableFuture<byte[]>> batched = new ArrayList<>();
            WriteBatch.run(() -> {
                for (int i = 0; i < CALLS; i++) {
                    batched.add(connection.call("echo", body(i), Deadline.after(Duration.ofSeconds(5)), null));
                }
                assertEquals(frames, connection.stats().framesWritten(), "nothing is written inside the batch");
            });
            awaitAll(batched);
            long inBatch = connection.stats().socketWrites() - writes;
            assertEquals(CALLS, connection.stats().framesWritten() - frames, "every request went out at the end");
            for (int i = 0; i < CALLS; i++) {
                assertEquals(new String(body(i), StandardCharsets.UTF_8),
                        new String(batched.get(i).get(), StandardCharsets.UTF_8));
            }
            System.out.printf("%d calls: %d socket writes one by one, %d in a batch%n", CALLS, oneByOne, inBatch);
            // (a heartbeat PING from the timer could add one write to either count)
            assertTrue(oneByOne >= 1 && oneByOne <= CALLS + 1, oneByOne + " writes for " + CALLS + " calls one by one");
            assertTrue(inBatch <= 2, inBatch + " writes for a batch of " + CALLS + " small requests");
        } finally {
            server.close();
        }
    }

    @Test
    void aBatchThatThrowsStillSendsWhatItQueuedAndNestedBatchesJoinTheOuterOne() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create();
             Connection connection = Connection.open(server.address(), ConnectionOptions.defaults(), resources)) {
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            long writes = connection.stats().socketWrites();
            assertThrows(IllegalStateException.class, () -> WriteBatch.run(() -> {
                calls.add(connection.call("echo", body(1), Deadline.after(Duration.ofSeconds(5)), null));
                WriteBatch.run(() -> calls.add(connection.call("echo", body(2), Deadline.after(Duration.ofSeconds(5)), null)));
                assertEquals(writes, connection.stats().socketWrites(), "the inner batch did not flush");
                throw new IllegalStateException("the application's own failure");
            }));
            awaitAll(calls);
            assertTrue(connection.stats().socketWrites() - writes <= 2, "both requests in one write (a PING may add one)");
        } finally {
            server.close();
        }
    }

    private static byte[] body(int i) {
        return ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static void awaitAll(List<CompletableFuture<byte[]>> calls) throws Exception {
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        assertTrue(calls.stream().noneMatch(CompletableFuture::isCompletedExceptionally));
    }
}
