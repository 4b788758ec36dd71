package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.ScriptedPeer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The meters a client publishes, read back from a registry after real calls. */
class ClientMetricsTest {

    @Test
    void callsConnectionsAndPoolArePublished() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer server = TidewireServer.builder().build().start();
        String address = "127.0.0.1:" + server.port();
        try (TidewireClient client = TidewireClient.builder().address(address).maxConnections(2).minIdle(1)
                .meterRegistry(registry).build()) {
            for (int i = 0; i < 5; i++) {
                client.call("echo", Map.of("i", i), JsonNode.class);
            }
            assertThrows(RemoteException.class, () -> client.call("fail", Map.of("code", 1001), JsonNode.class));
            assertThrows(RequestTimeoutException.class, () -> client.call("sleep", Map.of("millis", 1000), JsonNode.class,
                    CallOptions.timeout(Duration.ofMillis(100))));

            assertEquals(5, timer(registry, "echo", "success").count());
            assertEquals(1, timer(registry, "fail", "remote_error").count());
            assertEquals(1, timer(registry, "sleep", "timeout").count());
            assertEquals(address, timer(registry, "echo", "success").getId().getTag("address"));
            assertTrue(registry.get("tidewire.connections.opened").counter().count() >= 1);
            assertTrue(registry.get("tidewire.pool.borrow").timer().count() >= 7);
            assertEquals(0, registry.get("tidewire.requests.active").gauge().value());
            assertNotNull(registry.get("tidewire.pool.idle").gauge());
            assertNotNull(registry.get("tidewire.pool.waiting").gauge());
            assertNotNull(registry.get("tidewire.pool.active").gauge());
            assertTrue(registry.get("tidewire.connections.open").gauge().value() >= 1);
            assertEquals(0, registry.get("tidewire.responses.late").functionCounter().count(),
                    "the reference server honours CANCEL, so no reply came late");
        } finally {
            server.close();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> registry.find("tidewire.requests").timers().isEmpty());
        assertTrue(registry.getMeters().isEmpty(), "a closed client removes its meters: " + registry.getMeters());
    }

    @Test
    void aReplyAfterTheTimeoutIsCountedAsLate() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ScriptedPeer peer = new ScriptedPeer()) {
            TidewireClient client = TidewireClient.builder().address(peer.address()).maxConnections(1)
                    .meterRegistry(registry).build();
            try {
                CompletableFuture<JsonNode> call = CompletableFuture.supplyAsync(() -> client.callAsync("echo",
                        Map.of("v", 1), JsonNode.class, CallOptions.timeout(Duration.ofMillis(300)))).thenCompose(f -> f);
                peer.acceptAndHello(10);
                Frame request = peer.nextFrame(FrameType.REQUEST);
                peer.nextFrame(FrameType.CANCEL); // the client gave up: now answer anyway
                peer.send(new Frame(FrameType.RESPONSE, request.requestId(), "{\"v\":1}".getBytes(StandardCharsets.UTF_8)));
                ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof RequestTimeoutException, e.toString());
                await().atMost(Duration.ofSeconds(2))
                        .until(() -> registry.get("tidewire.responses.late").functionCounter().count() == 1);
            } finally {
                client.shutdownNow();
            }
        }
    }

    @Test
    void twoClientsOfOneServerKeepSeparateSeries() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient a = TidewireClient.builder().address(server.address()).name("orders").meterRegistry(registry).build();
             TidewireClient b = TidewireClient.builder().address(server.address()).name("billing").meterRegistry(registry).build()) {
            a.call("echo", Map.of(), JsonNode.class);
            b.call("echo", Map.of(), JsonNode.class);
            b.call("echo", Map.of(), JsonNode.class);
            assertEquals(1, registry.get("tidewire.requests").tag("client", "orders").tag("outcome", "success").timer().count());
            assertEquals(2, registry.get("tidewire.requests").tag("client", "billing").tag("outcome", "success").timer().count());
            a.close();
            assertEquals(2, registry.get("tidewire.requests").tag("client", "billing").tag("outcome", "success").timer().count(),
                    "closing one client leaves the other's meters");
        } finally {
            server.close();
        }
    }

    @Test
    void aRefusedCallIsRecorded() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer server = TidewireServer.builder().build().start();
        try {
            TidewireClient c = TidewireClient.builder().address(server.address()).meterRegistry(registry).build();
            c.call("echo", Map.of(), JsonNode.class);
            Timer closedTimer = timer(registry, "echo", "client_closed");
            c.close();
            assertThrows(dev.tidewire.ClientClosedException.class, () -> c.call("echo", Map.of(), JsonNode.class));
            assertEquals(1, closedTimer.count());
        } finally {
            server.close();
        }
    }

    @Test
    void withoutARegistryNothingIsRecordedAndCallsWork() {
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).build()) {
            assertEquals(Map.of("a", 1), client.call("echo", Map.of("a", 1), Map.class));
            assertEquals(null, client.options().meterRegistry());
        } finally {
            server.close();
        }
    }

    private static Timer timer(SimpleMeterRegistry registry, String op, String outcome) {
        return registry.get("tidewire.requests").tag("op", op).tag("outcome", outcome).timer();
    }
}
