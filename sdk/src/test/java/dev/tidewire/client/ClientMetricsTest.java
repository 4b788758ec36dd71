package dev.tidewire.client;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.RemoteException;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.pool.Endpoint;
import dev.tidewire.pool.EndpointResolver;
import dev.tidewire.protocol.Frame;
import dev.tidewire.protocol.FrameType;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.ScriptedPeer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
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
            // at least the first call borrowed; once the pool holds maxConnections (2: the minIdle
            // prefill and the first call's borrow can race into two connects), calls take the
            // shared path without a lease (architecture.md §6), so not every call borrows
            assertTrue(registry.get("tidewire.pool.borrow").timer().count() >= 1);
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
    void aFleetPublishesMetersPerEndpointAndRemovesThoseOfAnEndpointThatLeaves() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer a = TidewireServer.builder().build().start();
        TidewireServer b = TidewireServer.builder().build().start();
        Endpoint ea = Endpoint.of(a.address());
        Endpoint eb = Endpoint.of(b.address());
        AtomicReference<EndpointResolver.Listener> updates = new AtomicReference<>();
        EndpointResolver resolver = new EndpointResolver() {
            @Override
            public void start(Listener listener) {
                updates.set(listener);
                listener.onEndpoints(List.of(ea, eb));
            }

            @Override
            public void close() {
            }

            @Override
            public String toString() {
                return "test-resolver";
            }
        };
        try (TidewireClient client = TidewireClient.builder().target(resolver).meterRegistry(registry).build()) {
            for (int i = 0; i < 50; i++) {
                client.call("echo", Map.of("i", i), JsonNode.class);
            }
            assertEquals("test-resolver", timer(registry, "echo", "success").getId().getTag("address"));
            assertEquals(2, registry.get("tidewire.endpoints").gauge().value());
            // Micrometer holds a gauge's state weakly: the endpoint gauges must still read after a
            // collection (they read NaN once, their state held by nothing else)
            System.gc();
            double attempts = 0;
            for (TidewireServer s : List.of(a, b)) {
                String endpoint = "127.0.0.1:" + s.port();
                assertEquals(0, registry.get("tidewire.endpoint.in.flight").tag("endpoint", endpoint).gauge().value());
                assertEquals(0, registry.get("tidewire.endpoint.ejected").tag("endpoint", endpoint).gauge().value());
                assertEquals(0, registry.get("tidewire.endpoint.ejections").tag("endpoint", endpoint).functionCounter()
                        .count());
                assertNotNull(registry.get("tidewire.endpoint.latency").tag("endpoint", endpoint).timeGauge());
                await().atMost(Duration.ofSeconds(5)).until(() -> registry.get("tidewire.endpoint.ready")
                        .tag("endpoint", endpoint).gauge().value() == 1);
                attempts += registry.find("tidewire.endpoint.attempts").tag("endpoint", endpoint)
                        .tag("outcome", "success").counters().stream().mapToDouble(c -> c.count()).sum();
                assertEquals(s.stats().requests(), registry.find("tidewire.endpoint.attempts").tag("endpoint", endpoint)
                        .tag("outcome", "success").counters().stream().mapToDouble(c -> c.count()).sum(),
                        "one success per request the endpoint served");
            }
            assertEquals(50, attempts);
            assertEquals(0, registry.get("tidewire.retries").tag("reason", "not_processed").counter().count());
            assertEquals(0, registry.get("tidewire.retries.refused").functionCounter().count());
            // b leaves the fleet: its meters go, a's stay
            updates.get().onEndpoints(List.of(ea));
            assertTrue(registry.find("tidewire.endpoint.in.flight").tag("endpoint", eb.label()).gauges().isEmpty());
            assertTrue(registry.find("tidewire.endpoint.attempts").tag("endpoint", eb.label()).counters().isEmpty());
            assertEquals(1, registry.find("tidewire.endpoint.in.flight").tag("endpoint", ea.label()).gauges().size());
            assertEquals(1, registry.get("tidewire.endpoints").gauge().value());
        } finally {
            a.close();
            b.close();
        }
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
    void aRefusedCallIsRecorded() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient c = TidewireClient.builder().address(server.address()).maxPendingCalls(1)
                .meterRegistry(registry).build()) {
            CompletableFuture<JsonNode> sleeping = c.callAsync("sleep", Map.of("millis", 300), JsonNode.class);
            assertThrows(dev.tidewire.TooManyPendingCallsException.class, () -> c.call("echo", Map.of(), JsonNode.class));
            assertEquals(1, timer(registry, "echo", "too_many_pending").count());
            sleeping.get(5, TimeUnit.SECONDS);
            assertEquals(1, timer(registry, "sleep", "success").count());
        } finally {
            server.close();
        }
    }

    @Test
    void outcomesAreRegisteredWhenFirstSeen() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TidewireServer server = TidewireServer.builder().build().start();
        try {
            TidewireClient client = TidewireClient.builder().address(server.address()).meterRegistry(registry).build();
            assertTrue(registry.find("tidewire.requests").timers().isEmpty(), "no call, no request timer");
            for (int i = 0; i < 3; i++) {
                client.call("echo", Map.of("i", i), JsonNode.class);
            }
            assertEquals(List.of("echo success"), requestSeries(registry), "only the outcome seen is registered");
            assertThrows(RemoteException.class, () -> client.call("fail", Map.of("code", 1001), JsonNode.class));
            client.call("echo", Map.of(), JsonNode.class);
            assertEquals(List.of("echo success", "fail remote_error"), requestSeries(registry));
            assertEquals(4, timer(registry, "echo", "success").count());
            assertTrue(timer(registry, "echo", "success").takeSnapshot().histogramCounts().length == 0,
                    "no buckets by default");

            client.close();
            assertThrows(dev.tidewire.ClientClosedException.class, () -> client.call("echo", Map.of(), JsonNode.class));
            assertTrue(registry.getMeters().isEmpty(),
                    "a call refused after the close registers no new series: " + registry.getMeters());
        } finally {
            server.close();
        }
    }

    @Test
    void aScrapeShowsThreeSeriesPerOpAndOutcomeByDefault() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).meterRegistry(registry).build()) {
            client.call("echo", Map.of(), JsonNode.class);
            List<String> echo = requestLines(registry.scrape(), "echo");
            assertEquals(3, echo.size(), () -> "_count, _sum and _max of echo/success only: " + echo);
            assertTrue(echo.stream().noneMatch(l -> l.contains("_bucket")), echo::toString);
        } finally {
            server.close();
            registry.close();
        }
    }

    @Test
    void histogramsAndServiceLevelObjectivesOnRequest() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TidewireServer server = TidewireServer.builder().build().start();
        try (TidewireClient client = TidewireClient.builder().address(server.address()).meterRegistry(registry)
                .metricsHistogram(true).metricsServiceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(5))
                .build()) {
            assertTrue(client.options().metricsHistogram());
            assertEquals(List.of(Duration.ofMillis(5), Duration.ofMillis(10)), client.options().metricsServiceLevelObjectives());
            for (int i = 0; i < 3; i++) {
                client.call("echo", Map.of(), JsonNode.class);
            }
            String text = registry.scrape();
            List<String> buckets = requestLines(text, "echo").stream()
                    .filter(l -> l.startsWith("tidewire_requests_seconds_bucket{")).toList();
            // 84 buckets from 100 us to 30 s, the two SLOs, +Inf
            assertEquals(87, buckets.size(), () -> String.join("\n", buckets));
            assertEquals(90, requestLines(text, "echo").size(), "buckets, _count, _sum, _max");
            assertTrue(buckets.stream().anyMatch(l -> l.contains("le=\"0.005\"")), "SLO 5 ms");
            assertTrue(buckets.stream().anyMatch(l -> l.contains("le=\"0.01\"")), "SLO 10 ms");
            assertTrue(buckets.get(0).contains("le=\"1.0E-4\""), () -> "the lowest bucket is 100 us: " + buckets.get(0));
            assertTrue(buckets.stream().anyMatch(l -> l.contains("le=\"30.0\"")), "the highest finite bucket is 30 s");
            assertTrue(buckets.stream().anyMatch(l -> l.contains("le=\"+Inf\"") && l.endsWith(" 3")), text);
            assertTrue(text.contains("# TYPE tidewire_requests_seconds histogram"), text);
        } finally {
            server.close();
            registry.close();
        }
    }

    @Test
    void histogramOptionsAreCheckedAndNeedARegistry() {
        TidewireClient.Builder b = TidewireClient.builder().address("127.0.0.1:7000");
        assertThrows(IllegalArgumentException.class, () -> b.metricsServiceLevelObjectives(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> b.metricsServiceLevelObjectives(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class,
                () -> b.metricsServiceLevelObjectives(Duration.ofMillis(5), Duration.ofMillis(5)));
        assertThrows(IllegalArgumentException.class,
                () -> b.metricsServiceLevelObjectives(new Duration[TidewireClient.Builder.MAX_METRICS_SLOS + 1]));
        assertThrows(NullPointerException.class, () -> b.metricsServiceLevelObjectives(Duration.ofMillis(5), null));
        assertEquals(List.of(), b.buildOptions().metricsServiceLevelObjectives());
        assertEquals(false, b.buildOptions().metricsHistogram());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TidewireClient.builder().address("127.0.0.1:7000").metricsHistogram(true).buildOptions());
        assertTrue(e.getMessage().contains("meterRegistry"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TidewireClient.builder().address("127.0.0.1:7000")
                .metricsServiceLevelObjectives(Duration.ofMillis(5)).buildOptions());
        ClientOptions o = TidewireClient.builder().address("127.0.0.1:7000").meterRegistry(new SimpleMeterRegistry())
                .metricsHistogram(true).metricsServiceLevelObjectives(Duration.ofMillis(5)).buildOptions();
        assertTrue(o.metricsHistogram());
        assertEquals(List.of(Duration.ofMillis(5)), o.metricsServiceLevelObjectives());
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

    /** "op outcome" of every request timer, sorted. */
    private static List<String> requestSeries(SimpleMeterRegistry registry) {
        return registry.find("tidewire.requests").timers().stream()
                .map(t -> t.getId().getTag("op") + " " + t.getId().getTag("outcome")).sorted().toList();
    }

    /** The sample lines of the request timer for {@code op} in a Prometheus scrape. */
    private static List<String> requestLines(String scrape, String op) {
        return scrape.lines().filter(l -> l.startsWith("tidewire_requests_seconds") && l.contains("op=\"" + op + "\""))
                .toList();
    }
}
