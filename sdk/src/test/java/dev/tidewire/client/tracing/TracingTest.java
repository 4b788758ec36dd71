package dev.tidewire.client.tracing;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelBaggageManager;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelPropagator;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tracing across the wire with Micrometer Tracing's OpenTelemetry bridge and an in-memory span
 * exporter, over real sockets: a client span, its child server span, and, from a handler that
 * calls a second server, the next client and server spans, all in one trace.
 */
class TracingTest {
    private InMemorySpanExporter spans;
    private SdkTracerProvider provider;
    private Tracer tracer;
    private ObservationRegistry registry;
    private TidewireServer backend;
    private TidewireServer frontend;
    private TidewireClient toBackend;
    private TidewireClient client;

    @BeforeEach
    void tracing() {
        spans = InMemorySpanExporter.create();
        provider = SdkTracerProvider.builder().setSampler(Sampler.alwaysOn())
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(provider)
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
        io.opentelemetry.api.trace.Tracer otelTracer = otel.getTracer("tidewire-test");
        OtelCurrentTraceContext context = new OtelCurrentTraceContext();
        tracer = new OtelTracer(otelTracer, context, event -> { }, new OtelBaggageManager(context, List.of(), List.of()));
        OtelPropagator propagator = new OtelPropagator(otel.getPropagators(), otelTracer);
        registry = ObservationRegistry.create();
        registry.observationConfig().observationHandler(new ObservationHandler.FirstMatchingCompositeObservationHandler(
                new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                new DefaultTracingObservationHandler(tracer)));
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {client, toBackend, frontend, backend}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        provider.close();
    }

    private void start(boolean blockingFrontend) {
        backend = TidewireServer.builder().observationRegistry(registry).build().start();
        toBackend = TidewireClient.builder().address(backend.address()).observationRegistry(registry).build();
        TidewireServer.Builder front = TidewireServer.builder().observationRegistry(registry);
        if (blockingFrontend) {
            front.blockingHandler("front", r -> toBackend.callRaw("echo", r.body()));
        } else {
            front.handler("front", r -> toBackend.callRawAsync("echo", r.body()));
        }
        frontend = front.build().start();
        client = TidewireClient.builder().address(frontend.address()).observationRegistry(registry).build();
    }

    private void assertOneTraceThroughBothServers(String traceId) {
        await().atMost(Duration.ofSeconds(5)).until(() -> spans.getFinishedSpanItems().size() >= 5);
        List<SpanData> finished = spans.getFinishedSpanItems();
        assertEquals(5, finished.size(), finished.toString());
        assertTrue(finished.stream().allMatch(s -> s.getTraceId().equals(traceId)), "one trace: " + finished);
        SpanData root = find(finished, SpanKind.INTERNAL, "request");
        SpanData call = find(finished, SpanKind.CLIENT, "front");
        SpanData served = find(finished, SpanKind.SERVER, "front");
        SpanData inner = find(finished, SpanKind.CLIENT, "echo");
        SpanData innerServed = find(finished, SpanKind.SERVER, "echo");
        assertEquals(root.getSpanId(), call.getParentSpanId(), "the call is a child of the caller's span");
        assertEquals(call.getSpanId(), served.getParentSpanId(), "the server span is a child of the client span");
        assertEquals(served.getSpanId(), inner.getParentSpanId(), "the handler's call is a child of the server span");
        assertEquals(inner.getSpanId(), innerServed.getParentSpanId(), "the second server's span is its child");
        assertEquals("front", served.getAttributes().asMap().entrySet().stream()
                .filter(e -> e.getKey().getKey().equals("op")).map(e -> String.valueOf(e.getValue())).findFirst().orElse(null));
        assertTrue(served.getAttributes().asMap().keySet().stream().anyMatch(k -> k.getKey().equals("tidewire.request.id")));
        assertTrue(call.getAttributes().asMap().keySet().stream().anyMatch(k -> k.getKey().equals("outcome")));
        // the peer is a tag (no remote service address, which tracing handlers would parse as a URI per span)
        assertEquals("127.0.0.1:" + frontend.port(), attribute(call, "peer"), call.toString());
        assertTrue(attribute(served, "peer").startsWith("/127.0.0.1:"), served.toString());
        assertEquals(null, attribute(served, "network.peer.port"), served.toString());
    }

    private static String attribute(SpanData span, String key) {
        return span.getAttributes().asMap().entrySet().stream().filter(e -> e.getKey().getKey().equals(key))
                .map(e -> String.valueOf(e.getValue())).findFirst().orElse(null);
    }

    private static SpanData find(List<SpanData> finished, SpanKind kind, String name) {
        return finished.stream().filter(s -> s.getKind() == kind && s.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " span '" + name + "' in " + finished));
    }

    @Test
    void aBlockingCallMakesOneTraceThroughAHandlerThatCallsASecondServer() {
        start(true);
        Observation request = Observation.start("request", registry);
        String traceId;
        try (Observation.Scope scope = request.openScope()) {
            traceId = tracer.currentSpan().context().traceId();
            assertEquals("\"x\"", new String(client.callRaw("front", "\"x\"".getBytes())));
        } finally {
            request.stop();
        }
        assertOneTraceThroughBothServers(traceId);
    }

    @Test
    void anAsyncCallsCallbacksRunWithTheCallersObservation() throws Exception {
        start(false);
        Observation request = Observation.start("request", registry);
        String traceId;
        CompletableFuture<JsonNode> reply;
        try (Observation.Scope scope = request.openScope()) {
            traceId = tracer.currentSpan().context().traceId();
            reply = client.callAsync("front", "y", JsonNode.class);
        }
        assertEquals("y", reply.get(5, TimeUnit.SECONDS).asText());
        request.stop();
        assertOneTraceThroughBothServers(traceId);
        // a callback attached while the call is in flight runs on the callback executor, in the caller's observation
        CompletableFuture<String> early = new CompletableFuture<>();
        Observation second = Observation.start("request", registry);
        try (Observation.Scope scope = second.openScope()) {
            client.callAsync("front", "z", JsonNode.class).whenComplete((v, e) -> {
                Observation o = registry.getCurrentObservation();
                early.complete(o == null ? "none" : o == second ? "caller" : "other " + o);
            });
        }
        assertEquals("caller", early.get(5, TimeUnit.SECONDS));
        second.stop();
    }

    @Test
    void withoutARegistryNothingIsTracedAndNoMetadataIsSent() throws Exception {
        backend = TidewireServer.builder().build().start();
        client = TidewireClient.builder().address(backend.address()).build();
        Observation request = Observation.start("request", registry);
        JsonNode reply;
        try (Observation.Scope scope = request.openScope()) {
            reply = client.call("metadata", null, JsonNode.class);
        }
        request.stop();
        assertEquals(0, reply.get("metadata").size(), reply.toString());
        await().atMost(Duration.ofSeconds(5)).until(() -> spans.getFinishedSpanItems().size() == 1); // only "request"
        assertEquals(List.of("request"), spans.getFinishedSpanItems().stream().map(SpanData::getName).toList());
    }
}
