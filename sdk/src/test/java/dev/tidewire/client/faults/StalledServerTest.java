package dev.tidewire.client.faults;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.testing.Leaks;
import dev.tidewire.testing.StalledPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A server that stops reading, met by a client with its default options and the README's 2 s
 * timeout: every blocking call of 1 MiB returns by its deadline with a timeout (the old transport
 * left callers blocked in {@code write()} long past it), and closing the client does not wait for
 * the peer.
 */
class StalledServerTest {
    @Test
    void withDefaultsEveryCallToAServerThatStopsReadingEndsByItsDeadline() throws Exception {
        byte[] body = new byte[1024 * 1024];
        Arrays.fill(body, (byte) 'x');
        body[0] = '"';
        body[body.length - 1] = '"';
        try (StalledPeer peer = new StalledPeer(null, 0)) {
            TidewireClient client = TidewireClient.builder().address(peer.address())
                    .requestTimeout(Duration.ofSeconds(2)).build();
            ExecutorService callers = Executors.newFixedThreadPool(16);
            try {
                List<Future<Long>> all = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    all.add(callers.submit(() -> {
                        long start = System.nanoTime();
                        try {
                            client.callRaw("echo", body);
                            throw new AssertionError("a call succeeded against a peer that never answers");
                        } catch (TidewireException e) {
                            assertInstanceOf(RequestTimeoutException.class, e, e.toString());
                        }
                        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    }));
                }
                for (Future<Long> f : all) {
                    long ms = f.get(10, TimeUnit.SECONDS);
                    assertTrue(ms >= 1_990 && ms <= 2_300, "a 2 s call ended after " + ms + " ms");
                }
                assertEquals(0, client.inFlight());
            } finally {
                callers.shutdownNow();
                long start = System.nanoTime();
                client.close();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(ms < 2_000, "close took " + ms + " ms");
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Leaks.clientThreads().isEmpty());
    }
}
