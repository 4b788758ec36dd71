package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.awaitility.Awaitility.await;

import dev.tidewire.RequestTimeoutException;
import dev.tidewire.server.TidewireServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The two scenarios of the Go article Tidewire grew from, on a real loopback socket. */
class SeedScenarioTest {
    private TidewireServer server;
    private Connection connection;

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
        connection = Connection.open(server.address(), ConnectionOptions.defaults());
    }

    @AfterEach
    void stop() {
        connection.close();
        server.close();
    }

    @Test
    void twoMessagesOnOneConnectionEachGetTheirOwnReply() throws Exception {
        byte[] first = connection.call("echo", utf8("{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}"), Duration.ofSeconds(3))
                .get(5, TimeUnit.SECONDS);
        byte[] second = connection.call("echo", utf8("{\"Uid\":\"pixel-1\",\"Val\":\"another pig!\"}"), Duration.ofSeconds(3))
                .get(5, TimeUnit.SECONDS);

        assertEquals("{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}", text(first));
        assertEquals("{\"Uid\":\"pixel-1\",\"Val\":\"another pig!\"}", text(second));
        assertEquals(1, server.stats().connectionsAccepted(), "both messages shared one connection");
    }

    @Test
    void aReplySlowerThanTheTimeoutFailsWithATimeoutNearTheDeadline() throws Exception {
        Duration timeout = Duration.ofMillis(300);
        long start = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> connection.call("sleep", utf8("{\"millis\":2000,\"val\":\"slow\"}"), timeout).get(5, TimeUnit.SECONDS));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        RequestTimeoutException timeoutError = assertInstanceOf(RequestTimeoutException.class, e.getCause());
        assertTrue(elapsedMs >= 300 && elapsedMs < 500, "timed out after " + elapsedMs + " ms, limit 300 ms");
        assertEquals(timeout, timeoutError.limit());
        assertTrue(timeoutError.sent(), "the request had been written");
        assertFalse(timeoutError.retryable(), "a sent request may have been processed");
        assertTrue(timeoutError.getMessage().contains("sleep"), timeoutError.getMessage());

        // the server stopped waiting (the client's CANCEL or the deadline the request carried, whichever
        // came first), and the connection is still healthy
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().cancelled() + server.stats().deadlineExceeded() == 1);
        assertEquals("{\"val\":\"after\"}", text(connection.call("echo", utf8("{\"val\":\"after\"}"), timeout).get(5, TimeUnit.SECONDS)));
        assertEquals(0, ((dev.tidewire.transport.internal.MultiplexedConnection) connection).pendingCount());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
