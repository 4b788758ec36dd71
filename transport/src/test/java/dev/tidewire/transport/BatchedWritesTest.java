package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.internal.ReadBatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link ReadBatch#run}: calls an application thread makes inside a batch go out in one socket
 * write at its end, where the same calls made one by one cost one write each.
 */
class BatchedWritesTest {
    private static final int CALLS = 100;

    @Test
    void callsInsideABatchShareOneSocketWrite() throws Exception {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TransportResources resources = TransportResources.create();
             Connection connection = Connection.open(server.address(), ConnectionOptions.defaults(), resources)) {
            // one by one from one thread: nobody else is writing, so each call writes at once
            long writes = connection.stats().socketWrites();
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                calls.add(connection.call("echo", body(i), Deadline.after(Duration.ofSeconds(5)), null));
            }
            long oneByOne = connection.stats().socketWrites() - writes;
            awaitAll(calls);

            writes = connection.stats().socketWrites();
            long frames = connection.stats().framesWritten();
            List<CompletableFuture<byte[]>> batched = new ArrayList<>();
            ReadBatch.run(() -> {
                for (int i = 0; i < CALLS; i++) {
                    batched.add(connection.call("echo", body(i), Deadline.after(Duration.ofSeconds(5)), null));
                }
                assertEquals(frames, connection.stats().framesWritten(), "nothing is written inside the batch");
            });
            long inBatch = connection.stats().socketWrites() - writes;
            assertEquals(CALLS, connection.stats().framesWritten() - frames, "every request went out at the end");
            awaitAll(batched);
            for (int i = 0; i < CALLS; i++) {
                assertEquals(new String(body(i), StandardCharsets.UTF_8),
                        new String(batched.get(i).get(), StandardCharsets.UTF_8));
            }
            System.out.printf("%d calls: %d socket writes one by one, %d in a batch%n", CALLS, oneByOne, inBatch);
            // (a heartbeat PING from the timer could add one write to either count)
            assertTrue(oneByOne >= CALLS, oneByOne + " writes for " + CALLS + " calls one by one");
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
            assertThrows(IllegalStateException.class, () -> ReadBatch.run(() -> {
                calls.add(connection.call("echo", body(1), Deadline.after(Duration.ofSeconds(5)), null));
                ReadBatch.run(() -> calls.add(connection.call("echo", body(2), Deadline.after(Duration.ofSeconds(5)), null)));
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
