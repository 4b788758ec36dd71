package dev.tidewire.tool.load;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.Metadata;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.tool.Args;
import dev.tidewire.tool.UsageException;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelBaggageManager;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelPropagator;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.io.PrintStream;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The flags of {@code load} that change what each call carries, for measuring what metadata and
 * tracing cost (issue 12):
 *
 * <ul>
 *   <li>{@code --metadata key=value[,key=value..]}: this metadata on every call
 *       ({@link CallOptions#withMetadata}; one {@code CallOptions} shared by all calls);</li>
 *   <li>{@code --trace}: a Micrometer {@link ObservationRegistry} with Micrometer Tracing's
 *       OpenTelemetry bridge (W3C propagation, every call sampled) on the client and on the
 *       embedded server, so each call makes a CLIENT span, carries its {@code traceparent} in
 *       metadata, and makes a SERVER span; spans are exported synchronously
 *       ({@link SimpleSpanProcessor}) to an exporter that only counts them, so memory stays flat;</li>
 *   <li>{@code --no-metadata-server}: the embedded server announces no metadata
 *       ({@link TidewireServer.Builder#metadata(boolean) metadata(false)}), so the client sends plain
 *       REQUEST frames without deadline or metadata, as to a server of before REQUEST_EXT.</li>
 * </ul>
 * Without these flags nothing changes: no metadata, no registry.
 */
final class CallFlags {
    static final Set<String> VALUED = Set.of("metadata");
    static final Set<String> SWITCHES = Set.of("trace", "no-metadata-server");

    private final Metadata metadata;
    private final CallOptions options;
    private final boolean trace;
    private final boolean serverMetadata;
    private Tracing tracing;    // built on first use, shut down by finish()

    private CallFlags(Metadata metadata, boolean trace, boolean serverMetadata) {
        this.metadata = metadata;
        this.options = metadata.isEmpty() ? CallOptions.DEFAULT : CallOptions.metadata(metadata);
        this.trace = trace;
        this.serverMetadata = serverMetadata;
    }

    /** {@code base} plus the flags of this class that take a value. */
    static Set<String> with(Set<String> base) {
        Set<String> all = new HashSet<>(base);
        all.addAll(VALUED);
        return all;
    }

    /** {@code base} plus the switches of this class. */
    static Set<String> switches(Set<String> base) {
        Set<String> all = new HashSet<>(base);
        all.addAll(SWITCHES);
        return all;
    }

    /** Reads the flags; {@code embedded}: whether load starts its own server. */
    static CallFlags parse(Args f, boolean embedded) {
        Metadata md = Metadata.EMPTY;
        String spec = f.string("metadata", null);
        if (spec != null) {
            for (String pair : spec.split(",", -1)) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException("--metadata takes key=value[,key=value..], got '" + pair + "'");
                }
                try {
                    md = md.with(pair.substring(0, eq), pair.substring(eq + 1));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--metadata: " + e.getMessage());
                }
            }
        }
        if (f.has("no-metadata-server") && !embedded) {
            throw new UsageException("--no-metadata-server configures the embedded server; not with --address");
        }
        return new CallFlags(md, f.has("trace"), !f.has("no-metadata-server"));
    }

    /** The options of every call: the {@code --metadata}, if any. */
    CallOptions options() {
        return options;
    }

    /** {@code b} with the observation registry when tracing. */
    TidewireClient.Builder applyTo(TidewireClient.Builder b) {
        return trace ? b.observationRegistry(tracing().registry) : b;
    }

    /** {@code b} (the embedded server) with the observation registry when tracing, and without metadata if asked. */
    TidewireServer.Builder applyTo(TidewireServer.Builder b) {
        if (trace) {
            b.observationRegistry(tracing().registry);
        }
        return serverMetadata ? b : b.metadata(false);
    }

    /** Adds the flags to a report's configuration. */
    void describe(ObjectNode config) {
        ObjectNode md = config.putObject("metadata");
        for (int i = 0; i < metadata.size(); i++) {
            md.put(metadata.key(i), metadata.get(metadata.key(i)));
        }
        config.put("trace", trace);
        config.put("serverAnnouncesMetadata", serverMetadata);
    }

    /** One line for the run's header, or null when no flag was given. */
    String summary() {
        if (metadata.isEmpty() && !trace && serverMetadata) {
            return null;
        }
        return "calls: " + (metadata.isEmpty() ? "no metadata" : "metadata " + metadata)
                + (trace ? ", tracing on (Micrometer Tracing, OTel bridge, every call sampled, spans counted)" : "")
                + (serverMetadata ? "" : ", embedded server announces no metadata (plain REQUEST frames)");
    }

    /** Spans exported so far (0 without {@code --trace}). */
    long spansExported() {
        return tracing == null ? 0 : tracing.spans.sum();
    }

    /** Ends tracing, if on: reports the spans exported (as {@code spansExported}) and shuts the SDK down. */
    void finish(ObjectNode report, PrintStream out) {
        if (tracing != null) {
            tracing.provider.shutdown().join(10, TimeUnit.SECONDS);
            report.put("spansExported", spansExported());
            out.printf("%ntracing: %,d spans exported (a CLIENT and, from the embedded server, a SERVER span per call)%n",
                    spansExported());
        }
    }

    private Tracing tracing() {
        if (tracing == null) {
            tracing = new Tracing();
        }
        return tracing;
    }

    /** An OpenTelemetry SDK behind Micrometer Tracing, wired as in {@code TracingTest}, exporting to a counter. */
    private static final class Tracing {
        final LongAdder spans = new LongAdder();
        final SdkTracerProvider provider;
        final ObservationRegistry registry;

        Tracing() {
            SpanExporter counting = new SpanExporter() {
                @Override
                public CompletableResultCode export(Collection<SpanData> batch) {
                    spans.add(batch.size());
                    return CompletableResultCode.ofSuccess();
                }

                @Override
                public CompletableResultCode flush() {
                    return CompletableResultCode.ofSuccess();
                }

                @Override
                public CompletableResultCode shutdown() {
                    return CompletableResultCode.ofSuccess();
                }
            };
            provider = SdkTracerProvider.builder().setSampler(Sampler.alwaysOn())
                    .addSpanProcessor(SimpleSpanProcessor.create(counting)).build();
            OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(provider)
                    .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
            io.opentelemetry.api.trace.Tracer otelTracer = otel.getTracer("tidewire-load");
            OtelCurrentTraceContext context = new OtelCurrentTraceContext();
            OtelTracer tracer = new OtelTracer(otelTracer, context, event -> { },
                    new OtelBaggageManager(context, List.of(), List.of()));
            OtelPropagator propagator = new OtelPropagator(otel.getPropagators(), otelTracer);
            registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(new ObservationHandler.FirstMatchingCompositeObservationHandler(
                    new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                    new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                    new DefaultTracingObservationHandler(tracer)));
        }
    }
}
