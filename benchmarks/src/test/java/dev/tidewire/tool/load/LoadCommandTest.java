package dev.tidewire.tool.load;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.testing.Leaks;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code load} in-process against an embedded server and checks its JSON report. */
@Timeout(60)
class LoadCommandTest {
    @TempDir
    Path dir;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    @AfterEach
    void noThreadLeft() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertEquals(List.of(), Leaks.tidewireThreads());
            assertEquals(List.of(), Machine.threads(n -> n.startsWith("bench-")));
        });
    }

    @Test
    void closedLoopBlockingReportsCallsAndOrderedPercentiles() throws IOException {
        // 2 s: a progress line is printed each second, and one at the very end of a 1 s run may lose the race
        JsonNode report = run("closed.json", "--embedded", "--seconds", "2", "--warmup-seconds", "0", "--callers", "4");
        assertEquals("closed", report.path("mode").asText());
        assertEquals(4, report.path("config").path("callers").path(0).asInt());
        JsonNode r = onlyRun(report);
        assertEquals(4, r.path("callers").asInt());
        assertEquals("blocking", r.path("api").asText());
        assertSane(r);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("throughput") && out.contains("p99.9"), out);
        assertTrue(out.lines().anyMatch(l -> l.matches(".*\\d+ s .*calls/s.*")), "a progress line: " + out);
    }

    @Test
    void summaryHasMinMeanAndStddevAndProgressCountsFromTheStartOfMeasurement() throws IOException {
        JsonNode report = run("spread.json", "--embedded", "--seconds", "2", "--warmup-seconds", "1", "--callers", "2");
        JsonNode r = onlyRun(report);
        assertSane(r);
        JsonNode l = r.path("latencyMs");
        for (String field : List.of("min", "p50", "mean", "stddev", "max", "count")) {
            assertTrue(l.has(field), () -> field + " in " + l);
        }
        double min = l.path("min").asDouble();
        double p50 = l.path("p50").asDouble();
        double max = l.path("max").asDouble();
        double mean = l.path("mean").asDouble();
        assertTrue(0 <= min && min <= p50 && p50 <= max, l::toString);
        assertTrue(min <= mean && mean <= max, l::toString);
        assertTrue(l.path("stddev").asDouble() >= 0, l::toString);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertTrue(out.lines().anyMatch(line -> line.matches(" +min [\\d.]+ ms   mean [\\d.]+ ms   stddev [\\d.]+ ms"
                + "   \\(all [\\d,]+ calls that ended in the window or the drain after it\\)")), out);
        // 1 s of warm-up, then 2 s measured: "warm-up 1 s", "1 s", "2 s" (it used to say 1, 2, 3)
        Pattern progress = Pattern.compile("^K=4 C=2 +((?:warm-up )?\\d+ s) .*calls/s.*");
        List<String> seconds = out.lines().map(progress::matcher).filter(Matcher::matches).map(m -> m.group(1)).toList();
        assertEquals(List.of("warm-up 1 s", "1 s", "2 s"), seconds, out);
    }

    @Test
    void openLoopAtASmallRateSendsEveryPlannedCall() throws IOException {
        JsonNode report = run("open.json", "--embedded", "--seconds", "1", "--warmup-seconds", "0", "--rate", "200");
        assertEquals("open", report.path("mode").asText());
        JsonNode r = onlyRun(report);
        assertSane(r);
        assertEquals(200, r.path("rate").asInt());
        JsonNode open = r.path("openLoop");
        assertEquals(200, open.path("planned").asLong());
        assertEquals(200, open.path("issued").asLong());
        assertTrue(open.has("keptUp") && open.has("maxLagMs") && open.has("lagP99Ms"), r.toString());
        assertEquals(5.0, open.path("lagBoundMs").asDouble(), r::toString); // max(1 ms, 1/200 s)
        assertEquals(open.path("senderKeptUp").asBoolean() && open.path("serverKeptUp").asBoolean(),
                open.path("keptUp").asBoolean(), r::toString);
        String verdict = open.path("verdict").asText();
        assertTrue(verdict.startsWith(open.path("keptUp").asBoolean() ? "kept up: " : "") && verdict.contains("fell behind")
                != open.path("keptUp").asBoolean(), r::toString);
        assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("   schedule    "), stdout::toString);
        // 200 calls/s for 1 s; on a busy machine the first (connecting) calls may finish after the window
        assertTrue(r.path("calls").asLong() >= 100 && r.path("calls").asLong() <= 200, r.toString());
        assertEquals(200, r.path("latencyMs").path("count").asLong(), r.toString());
    }

    @Test
    void maxPendingRefusalsAreReportedByType() throws IOException {
        Path json = dir.resolve("pending.json");
        int code = LoadCommand.main(List.of("--embedded", "--seconds", "1", "--warmup-seconds", "0", "--api", "async",
                "--callers", "8", "--max-pending", "2", "--json", json.toString()), ps(stdout), ps(stderr), false);
        assertEquals(1, code, "a run with errors exits 1");
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, report.path("config").path("maxPendingCalls").asInt());
        JsonNode r = onlyRun(report);
        assertTrue(r.path("errors").path("TooManyPendingCallsException").asLong() > 0, r::toString);
        assertEquals(r.path("errorCount").asLong(), r.path("errors").path("TooManyPendingCallsException").asLong(),
                () -> "no other error: " + r);
        assertTrue(r.path("okLatencyMs").path("count").asLong() > 0, () -> "two calls at a time succeed: " + r);
        assertTrue(r.path("okLatencyMs").path("p50").asDouble() <= r.path("okLatencyMs").path("max").asDouble(), r::toString);
        assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("ok latency"), stdout::toString);
    }

    @Test
    void metricsPortServesTheClientsMetersDuringTheRun() throws Exception {
        Path json = dir.resolve("metrics.json");
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> LoadCommand.main(List.of("--embedded",
                "--seconds", "5", "--warmup-seconds", "0", "--callers", "2", "--metrics-port", "0", "--json",
                json.toString()), ps(stdout), ps(stderr), false));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> stdout.toString(StandardCharsets.UTF_8).contains("client metrics at ") || exit.isDone());
        Matcher url = Pattern.compile("client metrics at (http://127\\.0\\.0\\.1:\\d+/metrics)")
                .matcher(stdout.toString(StandardCharsets.UTF_8));
        assertTrue(url.find(), () -> "stdout:\n" + stdout + "\nstderr:\n" + stderr);
        URI metrics = URI.create(url.group(1));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String[] text = new String[1];
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            text[0] = r.body();
            assertTrue(text[0].lines().anyMatch(l -> l.startsWith("tidewire_requests_seconds_bucket{")
                    && l.contains("client=\"load\"") && l.contains("op=\"echo\"") && l.contains("outcome=\"success\"")),
                    () -> "the client's request histogram in:\n" + text[0]);
        });
        assertTrue(text[0].contains("# HELP tidewire_requests_seconds Calls, by op and outcome"), text[0]);
        assertTrue(text[0].contains("\njvm_memory_used_bytes{"), text[0]);
        assertEquals(0, exit.get(30, TimeUnit.SECONDS), () -> "stdout:\n" + stdout + "\nstderr:\n" + stderr);
        assertEquals(metrics.getPort(), new ObjectMapper().readTree(json.toFile()).path("config").path("metricsPort").asInt());
        assertThrows(java.io.IOException.class, () -> http.send(HttpRequest.newBuilder(metrics)
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()), "the endpoint ends with the run");
    }

    @Test
    void metadataAndTracingGoWithEveryCall() throws IOException {
        String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        JsonNode report = run("traced.json", "--embedded", "--seconds", "1", "--warmup-seconds", "0", "--api", "async",
                "--callers", "4", "--metadata", "traceparent=" + traceparent + ",tenant=acme", "--trace");
        JsonNode config = report.path("config");
        assertEquals(traceparent, config.path("metadata").path("traceparent").asText(), config::toString);
        assertEquals("acme", config.path("metadata").path("tenant").asText(), config::toString);
        assertTrue(config.path("trace").asBoolean(), config::toString);
        assertTrue(config.path("serverAnnouncesMetadata").asBoolean(), config::toString);
        JsonNode r = onlyRun(report);
        assertSane(r);
        // a client and a server span per call, warm-up and drain included
        assertTrue(report.path("spansExported").asLong() >= 2 * r.path("calls").asLong(), report::toString);
        assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("spans exported"), stdout::toString);
    }

    @Test
    void aServerWithoutMetadataStillAnswersCallsThatCarryIt() throws IOException {
        JsonNode report = run("plain.json", "--embedded", "--seconds", "1", "--warmup-seconds", "0", "--callers", "2",
                "--metadata", "tenant=acme", "--no-metadata-server", "--op", "metadata");
        assertTrue(!report.path("config").path("serverAnnouncesMetadata").asBoolean(true), report::toString);
        assertTrue(!report.path("config").path("trace").asBoolean(true), report::toString);
        assertTrue(!report.has("spansExported"), report::toString);
        assertSane(onlyRun(report));
    }

    @Test
    void badCommandLinesExitTwo() {
        assertEquals(2, LoadCommand.main(List.of("--callers", "4", "--rate", "10"), ps(stdout), ps(stderr), false));
        assertTrue(stderr.toString(StandardCharsets.UTF_8).contains("exclude each other"), stderr::toString);
        assertEquals(2, LoadCommand.main(List.of("--api", "sideways"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--callers", "1,2"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--bogus", "1"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--max-pending", "0"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--metrics-slo", "5ms"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--metrics-host", "127.0.0.1"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--metrics-port", "0", "--metrics-slo", "0ms"), ps(stdout), ps(stderr),
                false));
        assertEquals(2, LoadCommand.main(List.of("--metadata", "novalue"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--metadata", "Upper=x"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--metadata", "tw-reserved=x"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--trace=yes"), ps(stdout), ps(stderr), false));
        assertEquals(2, LoadCommand.main(List.of("--address", "127.0.0.1:1", "--no-metadata-server"), ps(stdout),
                ps(stderr), false));
        assertTrue(stderr.toString(StandardCharsets.UTF_8).contains("--no-metadata-server"), stderr::toString);
    }

    private JsonNode run(String file, String... args) throws IOException {
        Path json = dir.resolve(file);
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--json");
        all.add(json.toString());
        int code = LoadCommand.main(all, ps(stdout), ps(stderr), false);
        assertEquals(0, code, () -> "exit code; stdout:\n" + stdout + "\nstderr:\n" + stderr);
        return new ObjectMapper().readTree(json.toFile());
    }

    private static JsonNode onlyRun(JsonNode report) {
        assertEquals(1, report.path("runs").size(), report::toString);
        return report.path("runs").path(0);
    }

    static void assertSane(JsonNode r) {
        assertTrue(r.path("calls").asLong() > 0, r::toString);
        assertEquals(0, r.path("errorCount").asLong(), r::toString);
        assertEquals(0, r.path("unfinished").asLong(), r::toString);
        assertTrue(r.path("throughput").asDouble() > 0, r::toString);
        JsonNode l = r.path("latencyMs");
        double p50 = l.path("p50").asDouble();
        double p90 = l.path("p90").asDouble();
        double p99 = l.path("p99").asDouble();
        double p999 = l.path("p99.9").asDouble();
        double max = l.path("max").asDouble();
        assertTrue(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, r::toString);
        assertTrue(l.path("count").asLong() >= r.path("calls").asLong(), r::toString);
    }

    private static PrintStream ps(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }
}
