package dev.tidewire.tool.compare;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.tool.load.Machine;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code compare} on every system with a short cell and checks the report and the clean-up. */
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void everySystemMakesCallsWithoutErrorsAndLeavesNoThreads() throws Exception {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        Path json = dir.resolve("compare.json");
        int code = CompareCommand.main(List.of("--callers", "2", "--seconds", "1", "--warmup-seconds", "0",
                "--json", json.toString()), new PrintStream(stdout, true, StandardCharsets.UTF_8),
                new PrintStream(stderr, true, StandardCharsets.UTF_8), false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + stderr);

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        Set<String> systems = new HashSet<>();
        report.path("systems").forEach(s -> systems.add(s.path("name").asText()));
        assertEquals(Set.of("tidewire-blocking", "tidewire-async", "tidewire-blocking-raw", "tidewire-async-raw",
                "grpc-blocking-1ch", "grpc-blocking-4ch",
                "grpc-async-default-1ch", "grpc-async-default-4ch", "grpc-async-direct-1ch", "grpc-async-direct-4ch",
                "exclusive-pool"), systems);
        assertEquals(systems.size(), report.path("results").size(), report::toString);
        for (JsonNode r : report.path("results")) {
            assertEquals(2, r.path("callers").asInt(), r::toString);
            assertTrue(r.path("calls").asLong() > 0, r::toString);
            assertEquals(0, r.path("errorCount").asLong(), r::toString);
            assertEquals(0, r.path("unfinished").asLong(), r::toString);
            JsonNode l = r.path("latencyMs");
            assertTrue(l.path("p50").asDouble() <= l.path("p99").asDouble()
                    && l.path("p99").asDouble() <= l.path("max").asDouble(), r::toString);
        }
        // ratios: each of the 4 Tidewire systems against each of the 7 peers
        assertEquals(4 * 7, report.path("ratios").size(), report::toString);
        assertEquals(0, report.path("leftoverThreads").size(), report::toString);
        assertTrue(out.contains("Tidewire / peer"), out);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(List.of(),
                Machine.threads(n -> n.startsWith("tidewire-") || n.startsWith("bench-") || n.contains("grpc-")
                        || n.contains("grpc-nio") || n.contains("grpc-default"))));
    }

    @Test
    void unknownSystemIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = CompareCommand.main(List.of("--systems", "carrier-pigeon"), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8), false);
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown system 'carrier-pigeon'"), err::toString);
    }
}
