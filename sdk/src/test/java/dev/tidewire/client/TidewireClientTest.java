package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tidewire.ClientClosedException;
import dev.tidewire.ConnectFailedException;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.ResponseDecodingException;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TidewireClientTest {
    private TidewireServer server;
    private TidewireClient client;

    @BeforeEach
    void start() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address("127.0.0.1:" + server.port()).maxConnections(2)
                .requestTimeout(Duration.ofSeconds(3)).build();
    }

    @AfterEach
    void stop() {
        client.shutdownNow();
        server.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }

    @Test
    void theSeedScenarioTwoMessagesThenATimeout() {
        Message first = client.call("echo", new Message("pixel-1", "pixelpig!"), Message.class);
        Message second = client.call("echo", new Message("pixel-1", "another pig!"), Message.class);
        assertEquals(new Message("pixel-1", "pixelpig!"), first);
        assertEquals(new Message("pixel-1", "another pig!"), second);
        assertEquals(1, server.stats().connectionsAccepted(), "both answered on one connection");

        long start = System.nanoTime();
        RequestTimeoutException e = assertThrows(RequestTimeoutException.class, () -> client.call("sleep",
                Map.of("millis", 3000, "Val", "too late"), Message.class, CallOptions.timeout(Duration.ofMillis(250))));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 250 && ms < 450, "timed out after " + ms + " ms");
        assertEquals(Duration.ofMillis(250), e.limit());
        assertTrue(e.getMessage().contains("sleep"), e.getMessage());
    }

    @Test
    void rawCallsSendJsonBytesUntouchedAndReturnTheReplyUnparsed() throws Exception {
        byte[] body = "{\"Uid\":\"raw-1\",  \"Val\":\"bytes as they are\"}".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(body, client.callRaw("echo", body), "echo returns the request byte for byte");
        // the same bytes through the typed API decode to the same value
        assertEquals(new Message("raw-1", "bytes as they are"),
                client.call("echo", new ObjectMapper().readTree(body), Message.class));

        // async: the array is copied, so the caller may reuse it at once
        byte[] reused = "{\"n\":1}".getBytes(StandardCharsets.UTF_8);
        CompletableFuture<byte[]> first = client.callRawAsync("sleep", "{\"millis\":50,\"n\":1}".getBytes(StandardCharsets.UTF_8));
        CompletableFuture<byte[]> second = client.callRawAsync("echo", reused);
        reused[5] = '2';
        assertEquals("{\"n\":1}", new String(second.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        assertEquals("{\"millis\":50,\"n\":1}", new String(first.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));

        // an empty body is JSON null, and so is an empty reply
        assertEquals(0, client.callRaw("echo", new byte[0]).length);

        // bad input fails before anything is sent, typed
        assertThrows(NullPointerException.class, () -> client.callRaw("echo", null));
        assertThrows(IllegalArgumentException.class, () -> client.callRaw("", body));
        assertThrows(IllegalArgumentException.class, () -> client.callRawAsync("x".repeat(256), body));
        // server-side errors and timeouts as for typed calls
        RemoteException e = assertThrows(RemoteException.class,
                () -> client.callRaw("fail", "{\"code\":1234}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(1234, e.code());
        assertThrows(RequestTimeoutException.class, () -> client.callRaw("sleep",
                "{\"millis\":2000}".getBytes(StandardCharsets.UTF_8), CallOptions.timeout(Duration.ofMillis(100))));
        assertEquals(0, client.inFlight());
    }

    @Test
    void asyncCallsCompleteWithTheirOwnReplies() throws Exception {
        List<CompletableFuture<Message>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            calls.add(client.callAsync("sleep", Map.of("millis", 50 - i, "Uid", "u" + i, "Val", "v" + i), Message.class));
        }
        for (int i = 0; i < 50; i++) {
            assertEquals(new Message("u" + i, "v" + i), calls.get(i).get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void asyncFuturesCompleteOffTheTransportThreads() throws Exception {
        // attached before the reply arrives, so it runs on the thread that completes the future
        String thread = client.callAsync("sleep", Map.of("millis", 200), JsonNode.class)
                .thenApply(v -> Thread.currentThread().getName()).get(5, TimeUnit.SECONDS);
        assertTrue(thread.startsWith("tidewire-callback-"), thread);
    }

    @Test
    void remoteErrorsAreTyped() {
        RemoteException e = assertThrows(RemoteException.class,
                () -> client.call("fail", Map.of("code", 1404, "message", "no such thing"), JsonNode.class));
        assertEquals(1404, e.code());
        assertFalse(e.retryable());
    }

    @Test
    void rawJsonNodeVariant() {
        JsonNode request = JsonNodeFactory.instance.objectNode().put("Uid", "pixel-1").put("Val", "pixelpig!");
        JsonNode reply = client.callJson("echo", request);
        assertEquals(request, reply);
        assertEquals(request, client.callJsonAsync("echo", request).join());
    }

    @Test
    void aUserSuppliedObjectMapperIsHonoured() {
        ObjectMapper snake = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        try (TidewireClient c = TidewireClient.builder().address(server.address()).objectMapper(snake).build()) {
            JsonNode seenByServer = c.call("echo", new Person("Ada", "Lovelace"), JsonNode.class);
            assertEquals("Ada", seenByServer.path("first_name").asText(), seenByServer.toString());
            assertEquals(new Person("Ada", "Lovelace"), c.call("echo", new Person("Ada", "Lovelace"), Person.class));
        }
    }

    public record Person(String firstName, String lastName) {
    }

    @Test
    void anUndecodableReplyFailsOnlyThatCall() {
        ResponseDecodingException e = assertThrows(ResponseDecodingException.class,
                () -> client.call("echo", Map.of("Val", "x"), Integer.class));
        assertTrue(e.getMessage().contains("Integer"), e.getMessage());
        assertEquals(new Message("a", "b"), client.call("echo", new Message("a", "b"), Message.class));
    }

    @Test
    void voidAndNullAreHandled() {
        assertNull(client.call("echo", Map.of("a", 1), Void.class));
        assertTrue(client.call("echo", null, JsonNode.class).isNull());
    }

    @Test
    void cancellingAnAsyncCallSendsCancel() {
        CompletableFuture<JsonNode> f = client.callAsync("sleep", Map.of("millis", 10_000), JsonNode.class,
                CallOptions.timeout(Duration.ofSeconds(20)));
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
        assertTrue(f.cancel(true));
        assertThrows(CancellationException.class, f::join);
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().cancelled() == 1);
        await().atMost(Duration.ofSeconds(2)).until(() -> client.inFlight() == 0);
    }

    @Test
    void closeIsGracefulAndIdempotent() throws Exception {
        CompletableFuture<Message> running = client.callAsync("sleep", Map.of("millis", 300, "Val", "done"), Message.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
        client.close();
        assertEquals("done", running.get(1, TimeUnit.SECONDS).val, "the call in flight finished");
        assertThrows(ClientClosedException.class, () -> client.call("echo", Map.of(), JsonNode.class));
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.callAsync("echo", Map.of(), JsonNode.class).get());
        assertInstanceOf(ClientClosedException.class, e.getCause());
        client.close();
        assertTrue(client.awaitTermination(Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(5)).until(() -> Leaks.clientThreads().isEmpty());
        assertEquals(0, client.poolStats().open());
    }

    @Test
    void closeFailsWhatOutlivesTheGracePeriod() {
        try (TidewireClient c = TidewireClient.builder().address(server.address())
                .closeGracePeriod(Duration.ofMillis(200)).build()) {
            CompletableFuture<JsonNode> tooSlow = c.callAsync("sleep", Map.of("millis", 5000), JsonNode.class);
            await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
            long start = System.nanoTime();
            c.close();
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
            ExecutionException e = assertThrows(ExecutionException.class, () -> tooSlow.get(1, TimeUnit.SECONDS));
            assertInstanceOf(ClientClosedException.class, e.getCause());
        }
    }

    @Test
    void shutdownNowFailsCallsInFlight() {
        CompletableFuture<JsonNode> running = client.callAsync("sleep", Map.of("millis", 5000), JsonNode.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> server.stats().requests() == 1);
        client.shutdownNow();
        ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(2, TimeUnit.SECONDS));
        assertInstanceOf(ClientClosedException.class, e.getCause());
    }

    @Test
    void anUnreachableServerGivesATypedRetryableError() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (TidewireClient c = TidewireClient.builder().address("127.0.0.1", port)
                .requestTimeout(Duration.ofMillis(300)).build()) {
            long start = System.nanoTime();
            ConnectFailedException e = assertThrows(ConnectFailedException.class, () -> c.call("echo", Map.of(), JsonNode.class));
            assertTrue(e.retryable());
            assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(800));
        }
    }

    @Test
    void builderRejectsBadSettingsNamingThem() {
        assertMessage("address or target is required", () -> TidewireClient.builder().build());
        assertMessage("host:port", () -> TidewireClient.builder().address("localhost"));
        assertMessage("host:port", () -> TidewireClient.builder().target("127.0.0.1:7000,localhost"));
        assertMessage("dns", () -> TidewireClient.builder().target("dns:///"));
        assertMessage("maxEjectedShare", () -> dev.tidewire.pool.FleetOptions.builder().maxEjectedShare(2).build());
        assertMessage("maxAttempts", () -> dev.tidewire.pool.FleetOptions.builder().maxAttempts(0).build());
        assertMessage("evaluationInterval", () -> dev.tidewire.pool.FleetOptions.builder()
                .evaluationInterval(Duration.ofMillis(10)).build());
        assertMessage("port", () -> TidewireClient.builder().address("127.0.0.1", 70000));
        assertMessage("maxConnections", () -> TidewireClient.builder().maxConnections(0));
        assertMessage("requestTimeout", () -> TidewireClient.builder().requestTimeout(Duration.ZERO));
        assertMessage("connectTimeout", () -> TidewireClient.builder().connectTimeout(Duration.ofSeconds(-1)));
        assertMessage("minIdle", () -> TidewireClient.builder().address("127.0.0.1:1").maxConnections(2).minIdle(3).build());
        assertMessage("heartbeatTimeout", () -> TidewireClient.builder().address("127.0.0.1:1")
                .heartbeat(Duration.ofSeconds(3), Duration.ofSeconds(1)).build());
        assertMessage("both off", () -> TidewireClient.builder().address("127.0.0.1:1").keepAlive(Duration.ZERO)
                .heartbeat(Duration.ZERO, Duration.ofSeconds(1)).build());
        assertMessage("timeout", () -> CallOptions.timeout(Duration.ZERO));
        assertMessage("op must not be empty", () -> client.call("", Map.of(), JsonNode.class));
        assertMessage("cannot be encoded", () -> client.call("echo", new Object(), JsonNode.class));
        assertEquals(0, client.inFlight());
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(part), ex.getMessage());
    }

    @Test
    void optionsMirrorTheSeedsNames() {
        ClientOptions o = TidewireClient.builder().address("127.0.0.1:3000").maxConnections(3)
                .requestTimeout(Duration.ofSeconds(3)).connectTimeout(Duration.ofSeconds(3))
                .keepAlive(Duration.ofSeconds(1)).buildOptions();
        assertEquals(3000, o.address().getPort());
        assertEquals(3, o.maxConnections());
        assertEquals(Duration.ofSeconds(3), o.requestTimeout());
        assertEquals(Duration.ofSeconds(3), o.connectTimeout());
        assertEquals(Duration.ofSeconds(1), o.keepAlive());
    }

    /**
     * A callback on an event loop (direct executor) may chain async calls but not block: a blocking
     * call there is refused at once, and close() returns at once and finishes in the background.
     */
    @Test
    void onAnEventLoopABlockingCallIsRefusedAndCloseDoesNotWait() throws Exception {
        TidewireClient direct = TidewireClient.builder().address(server.address()).callbackExecutor(Runnable::run)
                .closeGracePeriod(Duration.ofSeconds(10)).build();
        try {
            // the reply comes after 100 ms: the stages below are attached by then and run on the loop
            JsonNode nap = new ObjectMapper().readTree("{\"millis\":100}");
            CompletableFuture<String> refused = direct.callAsync("sleep", nap, JsonNode.class).thenApply(first -> {
                try {
                    direct.call("echo", "second", String.class);
                    return "a blocking call was allowed on " + Thread.currentThread().getName();
                } catch (IllegalStateException e) {
                    return "refused on " + Thread.currentThread().getName();
                }
            });
            String outcome = refused.get(5, TimeUnit.SECONDS);
            assertTrue(outcome.startsWith("refused on tidewire-io-"), outcome);
            CompletableFuture<String> chained = direct.callAsync("sleep", nap, JsonNode.class)
                    .thenCompose(a -> direct.callAsync("echo", "ab", String.class));
            assertEquals("ab", chained.get(5, TimeUnit.SECONDS));
            CompletableFuture<String> closeTook = direct.callAsync("sleep", nap, JsonNode.class).thenApply(x -> {
                long start = System.nanoTime();
                direct.close();
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms on "
                        + Thread.currentThread().getName();
            });
            String took = closeTook.get(5, TimeUnit.SECONDS);
            assertTrue(took.contains("tidewire-io-") && Long.parseLong(took.split(" ")[0]) < 500,
                    "close on a loop took " + took);
            assertTrue(direct.awaitTermination(Duration.ofSeconds(5)), "the background close finished");
        } finally {
            direct.shutdownNow();
        }
    }

    /** A timeout too long for nanoseconds means "no practical limit", not an ArithmeticException. */
    @Test
    void anEnormousTimeoutMeansNoPracticalLimit() throws Exception {
        assertEquals("long", client.call("echo", "long", String.class,
                CallOptions.timeout(Duration.ofMillis(Long.MAX_VALUE))));
        assertEquals("longer", client.callAsync("echo", "longer", String.class,
                CallOptions.timeout(Duration.ofSeconds(Long.MAX_VALUE))).get(5, TimeUnit.SECONDS));
        dev.tidewire.transport.Deadline d = new dev.tidewire.transport.Deadline(System.nanoTime(), Long.MAX_VALUE);
        assertFalse(d.isExpired(System.nanoTime()), "a Long.MAX_VALUE deadline has not passed");
        assertTrue(d.remainingNanos() > 0);
    }

    /** close() from one of the client's own callback threads neither waits for its own pool nor interrupts itself. */
    @Test
    void closeFromACallbackThreadReturnsAtOnceAndLeavesNoInterrupt() throws Exception {
        TidewireClient own = TidewireClient.builder().address(server.address()).build();
        JsonNode nap = new ObjectMapper().readTree("{\"millis\":100}"); // attached before the reply comes
        CompletableFuture<String> closed = own.callAsync("sleep", nap, JsonNode.class).thenApply(x -> {
            long start = System.nanoTime();
            own.close();
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms on "
                    + Thread.currentThread().getName() + ", interrupted " + Thread.currentThread().isInterrupted();
        });
        String outcome = closed.get(10, TimeUnit.SECONDS);
        assertTrue(outcome.contains("tidewire-callback-") && outcome.endsWith("interrupted false")
                && Long.parseLong(outcome.split(" ")[0]) < 1000, outcome);
        assertTrue(own.awaitTermination(Duration.ofSeconds(5)));
    }
}
