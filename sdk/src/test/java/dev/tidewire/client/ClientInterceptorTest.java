package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.Metadata;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.server.TidewireServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Per-call metadata, client interceptors, and deadlines passed on from a handler to the calls it makes. */
class ClientInterceptorTest {
    private TidewireServer server;
    private TidewireServer second;
    private TidewireClient client;
    private TidewireClient inner;

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {client, inner, server, second}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    @Test
    void interceptorsAddMetadataInOrderAndSeeEveryOutcome() throws Exception {
        server = TidewireServer.builder().build().start();
        List<String> seen = new CopyOnWriteArrayList<>();
        client = TidewireClient.builder().address(server.address())
                .interceptor(chain -> chain.proceed(chain.metadata().with("tenant", "acme"))
                        .whenComplete((reply, error) -> seen.add(chain.op() + " " + (error == null ? "ok"
                                : error.getClass().getSimpleName()) + " after " + (System.nanoTime() - chain.startNanos() > 0))))
                .interceptor(chain -> chain.proceed(chain.metadata().with("order", "second")))
                .build();
        JsonNode reply = client.call("metadata", null, JsonNode.class,
                CallOptions.metadata(Metadata.of("call", "own")));
        assertEquals("[[\"call\",\"own\"],[\"tenant\",\"acme\"],[\"order\",\"second\"]]", reply.get("metadata").toString());
        assertThrows(RemoteException.class, () -> client.call("fail", null, JsonNode.class));
        await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 2);
        assertEquals(List.of("metadata ok after true", "fail RemoteException after true"), seen);
    }

    @Test
    void cancellingAnInterceptedCallCancelsItOnTheWire() throws Exception {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(server.address())
                .interceptor(chain -> chain.proceed(chain.metadata()).thenApply(reply -> reply)) // a dependent future
                .build();
        CompletableFuture<JsonNode> call = client.callAsync("sleep", java.util.Map.of("millis", 30_000), JsonNode.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> client.poolStats().inFlight() == 1);
        call.cancel(true);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().cancelled() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> client.inFlight() == 0);
    }

    @Test
    void anInterceptorThatThrowsFailsOnlyItsCall() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(server.address())
                .interceptor(chain -> {
                    if (chain.op().equals("forbidden")) {
                        throw new IllegalStateException("not allowed");
                    }
                    return chain.proceed(chain.metadata());
                }).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> client.call("forbidden", null, JsonNode.class));
        assertEquals("not allowed", e.getMessage());
        assertEquals("\"ok\"", client.call("echo", "ok", JsonNode.class).toString());
        assertEquals(0, client.inFlight());
    }

    @Test
    void aHandlersCallsInheritItsDeadline() throws Exception {
        second = TidewireServer.builder().build().start();
        inner = TidewireClient.builder().address(second.address()).requestTimeout(Duration.ofSeconds(30)).build();
        server = TidewireServer.builder()
                .blockingHandler("relay", r -> inner.callRaw("metadata", new byte[0]))
                .blockingHandler("slowRelay", r -> inner.callRaw("sleep", "{\"millis\":10000}".getBytes()))
                .build().start();
        client = TidewireClient.builder().address(server.address()).build();
        JsonNode seen = client.call("relay", null, JsonNode.class, CallOptions.timeout(Duration.ofMillis(1500)));
        long passedOn = seen.get("timeoutMillis").asLong();
        assertTrue(passedOn > 0 && passedOn <= 1500, "the inner call carried " + passedOn + " ms, not its own 30 s");
        // the inner call ends with the outer request's deadline, not after its own 30 s
        long start = System.nanoTime();
        ExecutionException failed = assertThrows(ExecutionException.class, () -> client.callAsync("slowRelay", null,
                JsonNode.class, CallOptions.timeout(Duration.ofMillis(400))).get(10, TimeUnit.SECONDS));
        // all three clocks stop at about 400 ms: the outer client's own timer (a timeout), the server's copy of
        // the deadline (ERROR 16, also a timeout), or the inner call's timeout failing the handler first
        // (ERROR 12 INTERNAL naming the RequestTimeoutException): which one wins is a race between timer
        // ticks (seen once on JDK 25), and each ends the call on time
        Throwable cause = failed.getCause();
        assertTrue(cause instanceof RequestTimeoutException || cause instanceof dev.tidewire.RemoteException r
                && r.code() == dev.tidewire.protocol.ErrorCode.INTERNAL, cause.toString());
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis < 2000, "the call ended after " + tookMillis + " ms, its timeout 400 ms");
        await().atMost(Duration.ofSeconds(5)).until(() -> second.stats().cancelled() + second.stats().deadlineExceeded() == 1);
    }

    @Test
    void withDefaultOptionsAndTheReadmeTimeoutTheServersCopyOfTheDeadlineEndsACallAsATimeout() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(server.address()).requestTimeout(Duration.ofSeconds(2)).build();
        long start = System.nanoTime();
        RequestTimeoutException e = assertThrows(RequestTimeoutException.class,
                () -> client.call("sleep", java.util.Map.of("millis", 30_000), JsonNode.class));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(e.sent(), e.getMessage());
        assertTrue(tookMillis >= 1990 && tookMillis < 3000, "ended after " + tookMillis + " ms, timeout 2 s");
        // the server stopped the handler's wait: by the deadline the request carried, or the client's CANCEL
        await().atMost(Duration.ofSeconds(5)).until(() -> server.stats().cancelled() + server.stats().deadlineExceeded() == 1);
        assertEquals("\"after\"", client.call("echo", "after", JsonNode.class).toString());
        assertEquals(0, client.inFlight());
    }

    @Test
    void anExplicitDeadlineBoundsTheCall() {
        server = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(server.address()).build();
        dev.tidewire.transport.Deadline soon = dev.tidewire.transport.Deadline.after(Duration.ofMillis(300));
        RequestTimeoutException e = assertThrows(RequestTimeoutException.class, () -> client.call("sleep",
                java.util.Map.of("millis", 5000), JsonNode.class, CallOptions.DEFAULT.withDeadline(soon)));
        assertTrue(e.limit().toMillis() <= 300, e.getMessage());
    }
}
