package dev.tidewire.tool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tidewire.client.TidewireClient;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Starts {@code serve} in-process and reads its request timer from the Prometheus endpoint. */
class ServeMetricsTest {
    private static final String COUNT_LINE = "tidewire_server_requests_seconds_count{";

    @Test
    @Timeout(60)
    void prometheusEndpointCountsEchoCalls() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (ServeCommand.Running running = new ServeCommand(InetAddress.getLoopbackAddress(), 0, 0).start();
             TidewireClient client = TidewireClient.builder().address("127.0.0.1", running.port()).build()) {
            for (int i = 0; i < 7; i++) {
                JsonNode request = JsonNodeFactory.instance.objectNode().put("n", i);
                assertEquals(request, client.callJson("echo", request));
            }
            URI metrics = URI.create("http://127.0.0.1:" + running.metricsPort() + "/metrics");

            // the server records a request just after queueing its reply, so the count may lag the reply a little
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String text = get(http, metrics).body();
                assertEquals(7.0, echoSuccessCount(text), () -> "scrape:\n" + text);
            });

            HttpResponse<String> scrape = get(http, metrics);
            assertEquals(200, scrape.statusCode());
            assertTrue(scrape.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
            assertTrue(scrape.body().contains("tidewire_server_connections_open"), scrape.body());
            assertEquals(404, get(http, URI.create("http://127.0.0.1:" + running.metricsPort() + "/other")).statusCode());
        }
    }

    private static HttpResponse<String> get(HttpClient http, URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The value of the timer count line for op echo, outcome success; -1 when there is none. */
    private static double echoSuccessCount(String prometheusText) {
        return prometheusText.lines()
                .filter(l -> l.startsWith(COUNT_LINE) && l.contains("op=\"echo\"") && l.contains("outcome=\"success\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElse(-1);
    }
}
