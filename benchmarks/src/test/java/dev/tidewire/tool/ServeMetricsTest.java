package dev.tidewire.tool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Starts {@code serve} in-process (the command line's own {@code parse} and {@code start}) and
 * reads its metrics endpoint with the JDK's HTTP client.
 */
@Timeout(60)
class ServeMetricsTest {
    private static final String COUNT_LINE = "tidewire_server_requests_seconds_count{";
    private static final String BUCKET_LINE = "tidewire_server_requests_seconds_bucket{";
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void prometheusEndpointCountsEchoCalls() throws Exception {
        try (ServeCommand.Running running = new ServeCommand(InetAddress.getLoopbackAddress(), 0, 0).start();
             TidewireClient client = TidewireClient.builder().address("127.0.0.1", running.port()).build()) {
            for (int i = 0; i < 7; i++) {
                JsonNode request = JsonNodeFactory.instance.objectNode().put("n", i);
                assertEquals(request, client.callJson("echo", request));
            }
            URI metrics = metricsUri(running, "/metrics");

            // the server records a request when its reply's write completes: the client may have it first
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String text = get(metrics, null).body();
                assertEquals(7.0, value(text, COUNT_LINE, "echo", "success", null), () -> "scrape:\n" + text);
            });

            HttpResponse<String> scrape = get(metrics, null);
            assertEquals(200, scrape.statusCode());
            assertEquals(MetricsEndpoint.PROMETHEUS_TEXT, scrape.headers().firstValue("Content-Type").orElse(""));
            assertTrue(scrape.body().contains("tidewire_server_connections_open"), scrape.body());
            assertEquals(404, get(metricsUri(running, "/other"), null).statusCode());
        }
    }

    @Test
    void scrapeHasHistogramBucketsHelpTextJvmMetersAndOpenMetricsOnRequest() throws Exception {
        ServeCommand serve = ServeCommand.parse(List.of("--port", "0", "--metrics-port", "0", "--metrics-slo", "10ms,5ms"));
        try (ServeCommand.Running running = serve.start();
             TidewireClient client = TidewireClient.builder().address("127.0.0.1", running.port()).build()) {
            for (int i = 0; i < 7; i++) {
                client.call("echo", Map.of("n", i), JsonNode.class);
            }
            // ended by the server at the deadline the request carried (ERROR 16), or by the client's CANCEL
            assertThrows(RequestTimeoutException.class, () -> client.call("sleep", Map.of("millis", 5000), JsonNode.class,
                    CallOptions.timeout(Duration.ofMillis(100))));
            URI metrics = metricsUri(running, "/metrics");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String text = get(metrics, null).body();
                assertEquals(7.0, value(text, COUNT_LINE, "echo", "success", null), () -> "scrape:\n" + text);
                double cancelled = Math.max(0, value(text, "tidewire_server_requests_cancelled_total{", "sleep", null, null));
                double expired = Math.max(0, value(text, COUNT_LINE, "sleep", "error_16", null));
                assertEquals(1.0, cancelled + expired, text);
            });
            String text = get(metrics, null).body();

            // the percentile histogram (100 us .. 30 s: 85 buckets with +Inf) plus the two SLO buckets
            List<String> buckets = text.lines().filter(l -> l.startsWith(BUCKET_LINE) && l.contains("op=\"echo\"")).toList();
            assertEquals(87, buckets.size(), () -> String.join("\n", buckets));
            assertEquals(7.0, value(text, BUCKET_LINE, "echo", "success", "+Inf"), text);
            assertTrue(value(text, BUCKET_LINE, "echo", "success", "0.005") >= 0, "SLO bucket 5 ms");
            assertTrue(value(text, BUCKET_LINE, "echo", "success", "0.01") >= 0, "SLO bucket 10 ms");
            assertTrue(text.contains("# TYPE tidewire_server_requests_seconds histogram"), text);

            // every Tidewire meter has HELP text
            Set<String> families = new TreeSet<>();
            text.lines().filter(l -> l.startsWith("# TYPE tidewire_")).forEach(l -> families.add(l.split(" ")[2]));
            assertTrue(families.size() >= 7, families::toString);
            for (String family : families) {
                assertTrue(text.lines().anyMatch(l -> l.startsWith("# HELP " + family + " ") && l.length() > 9 + family.length()),
                        () -> "HELP text for " + family + " in:\n" + text);
            }

            // JVM and process meters
            for (String jvm : List.of("jvm_memory_used_bytes{", "jvm_threads_live_threads", "jvm_classes_loaded_classes",
                    "jvm_gc_", "process_uptime_seconds", "process_cpu_usage", "system_cpu_count", "process_files_open_files")) {
                assertTrue(text.contains("\n" + jvm), () -> jvm + " in:\n" + text);
            }

            // OpenMetrics when the Accept header asks for it, as Prometheus does
            HttpResponse<String> om = get(metrics, "application/openmetrics-text;version=1.0.0;q=0.5,"
                    + "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2");
            assertEquals(200, om.statusCode());
            assertEquals(MetricsEndpoint.OPENMETRICS_TEXT, om.headers().firstValue("Content-Type").orElse(""));
            assertTrue(om.body().endsWith("# EOF\n"), om.body());
            assertTrue(om.body().contains(BUCKET_LINE), om.body());
            assertTrue(om.body().contains("# HELP tidewire_server_requests_seconds "), om.body());

            HttpResponse<String> plain = get(metrics, "text/plain");
            assertEquals(MetricsEndpoint.PROMETHEUS_TEXT, plain.headers().firstValue("Content-Type").orElse(""));
            assertFalse(plain.body().contains("# EOF"), "Prometheus text has no EOF marker");

            HttpResponse<String> head = http.send(HttpRequest.newBuilder(metrics).method("HEAD",
                    HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, head.statusCode());
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(metrics).POST(HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }

    @Test
    void histogramOffLeavesCountSumAndMax() throws Exception {
        ServeCommand serve = ServeCommand.parse(List.of("--port", "0", "--metrics-port", "0", "--metrics-histogram", "off"));
        try (ServeCommand.Running running = serve.start();
             TidewireClient client = TidewireClient.builder().address("127.0.0.1", running.port()).build()) {
            client.call("echo", Map.of(), JsonNode.class);
            URI metrics = metricsUri(running, "/metrics");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertEquals(1.0, value(get(metrics, null).body(), COUNT_LINE, "echo", "success", null)));
            List<String> echo = get(metrics, null).body().lines()
                    .filter(l -> l.startsWith("tidewire_server_requests_seconds") && l.contains("op=\"echo\"")).toList();
            assertEquals(3, echo.size(), () -> "_count, _sum, _max: " + echo);
        }
    }

    @Test
    void withoutAMetricsPortThereIsNoEndpoint() {
        try (ServeCommand.Running running = ServeCommand.parse(List.of("--port", "0")).start()) {
            assertEquals(ServeCommand.NO_METRICS, running.metricsPort());
        }
    }

    @Test
    void metricsFlagsAreChecked() {
        assertThrows(UsageException.class, () -> ServeCommand.parse(List.of("--port", "0", "--metrics-slo", "5ms")));
        assertThrows(UsageException.class, () -> ServeCommand.parse(List.of("--port", "0", "--metrics-histogram", "off")));
        for (String bad : List.of("5", "5 min", "0ms", "5ms,5ms", "-5ms", "1.5ms", "")) {
            assertThrows(UsageException.class, () -> ServeCommand.parse(List.of("--port", "0", "--metrics-port", "0",
                    "--metrics-slo", bad)), bad);
        }
        assertThrows(UsageException.class, () -> ServeCommand.parse(List.of("--port", "0", "--metrics-port", "0",
                "--metrics-histogram", "yes")));
        assertEquals(List.of(Duration.ofNanos(500_000), Duration.ofMillis(5), Duration.ofSeconds(1)),
                MetricsFlags.durations("1s,500us,5ms"));
    }

    @Test
    void openMetricsOnlyWhenAccepted() {
        assertEquals(MetricsEndpoint.PROMETHEUS_TEXT, MetricsEndpoint.contentType(null));
        assertEquals(MetricsEndpoint.PROMETHEUS_TEXT, MetricsEndpoint.contentType(List.of("*/*")));
        assertEquals(MetricsEndpoint.OPENMETRICS_TEXT, MetricsEndpoint.contentType(List.of("Application/OpenMetrics-Text")));
        assertEquals(MetricsEndpoint.PROMETHEUS_TEXT,
                MetricsEndpoint.contentType(List.of("application/openmetrics-text; q=0, text/plain")));
    }

    private static URI metricsUri(ServeCommand.Running running, String path) {
        return URI.create("http://127.0.0.1:" + running.metricsPort() + path);
    }

    private HttpResponse<String> get(URI uri, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET();
        if (accept != null) {
            b.header("Accept", accept);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of the first sample line starting with {@code prefix} with these labels; -1 when there is none. */
    private static double value(String text, String prefix, String op, String outcome, String le) {
        return text.lines()
                .filter(l -> l.startsWith(prefix) && l.contains("op=\"" + op + "\"")
                        && (outcome == null || l.contains("outcome=\"" + outcome + "\""))
                        && (le == null || l.contains("le=\"" + le + "\"")))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElse(-1);
    }
}
