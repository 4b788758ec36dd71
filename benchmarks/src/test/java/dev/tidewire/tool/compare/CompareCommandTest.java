package dev.tidewire.tool.compare;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.tool.load.Machine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code compare} on every system with a short cell, servers in child JVMs, and checks the
 * report and the clean-up (threads, server JVMs, certificates).
 */
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void everySystemRunsAgainstAServerJvmWithoutErrorsAndLeavesNothingBehind() throws Exception {
        Set<Path> tlsDirsBefore = tlsDirs();
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
        Set<String> expected = new HashSet<>(Set.of("tidewire-blocking", "tidewire-async", "tidewire-blocking-raw",
                "tidewire-async-raw", "tidewire-blocking-tls", "tidewire-async-tls", "tidewire-async-raw-tls",
                "grpc-blocking-1ch", "grpc-blocking-4ch",
                "grpc-async-default-1ch", "grpc-async-default-4ch", "grpc-async-direct-1ch", "grpc-async-direct-4ch",
                "grpc-async-direct-1ch-tls", "grpc-async-direct-4ch-tls", "exclusive-pool"));
        boolean virtualThreads = Runtime.version().feature() >= 21;
        boolean redis = RedisServer.find(System.getenv("PATH")).isPresent();
        if (redis) {
            expected.addAll(Set.of("lettuce-async", "lettuce-sync", "jedis-pool"));
        } else {
            assertTrue(out.contains("note: the Redis rows ("), out);
        }
        if (virtualThreads) {
            expected.addAll(Set.of(CompareCommand.VTHREADS, "grpc-blocking-vt"));
            if (redis) {
                expected.add("lettuce-sync-vt");
            }
        } else {
            assertTrue(out.contains("note: " + CompareCommand.VTHREADS + ", grpc-blocking-vt, lettuce-sync-vt skipped:"
                    + " virtual threads need JDK 21"), out);
        }
        assertEquals(expected, systems);
        report.path("systems").forEach(s -> assertTrue(s.path("server").asText()
                .startsWith(ServerKind.of(s.path("family").asText()).label(false)), s::toString));
        report.path("systems").forEach(s -> assertTrue(!s.path("family").asText().matches("tidewire|pool|grpc")
                || s.path("server").asText().endsWith(" (child JVM)"), s::toString));
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
        // ratios: plaintext Tidewire systems against the plaintext peers (7, gRPC's from virtual threads,
        // the Redis rows), the 3 TLS ones against the 2 TLS peers
        int plainPeers = 7 + (virtualThreads ? 1 : 0) + (redis ? 3 + (virtualThreads ? 1 : 0) : 0);
        assertEquals((virtualThreads ? 5 : 4) * plainPeers + 3 * 2, report.path("ratios").size(), report::toString);
        assertEquals(0, report.path("leftoverThreads").size(), report::toString);
        assertTrue(out.contains("Tidewire / peer, TLS"), out);
        assertTrue(out.contains("TLS async / gRPC best TLS"), out);
        assertTrue(out.contains("gRPC server TLS: provider "), out);
        assertTrue(out.contains("in a child JVM, pid "), out);

        // no server JVM outlives the run, and the certificates are deleted
        assertEquals(List.of(), ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
        assertEquals(tlsDirsBefore, tlsDirs());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(List.of(),
                Machine.threads(n -> n.startsWith("tidewire-") || n.startsWith("bench-") || n.contains("grpc-")
                        || n.startsWith("compare-server-") || n.startsWith("compare-redis-") || n.startsWith("lettuce-"))));
    }

    @Test
    @Timeout(120)
    void inProcessServersStillWork() throws IOException {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        Path json = dir.resolve("in-process.json");
        int code = CompareCommand.main(List.of("--callers", "2", "--seconds", "1", "--warmup-seconds", "0",
                "--in-process", "--systems", "tidewire-async-tls,grpc-async-direct-1ch", "--json", json.toString()),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), System.err, false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("servers: in this JVM"), out);
        assertEquals(0L, ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        for (JsonNode r : report.path("results")) {
            assertTrue(r.path("server").asText().endsWith("(in-process)"), r::toString);
            assertTrue(r.path("clientCpuUsPerCall").asDouble() > 0, r::toString);
            assertTrue(r.path("serverCpuUsPerCall").isNull(), () -> "n/a in-process: " + r);
        }
    }

    @Test
    @Timeout(180)
    void roundsReportEachRoundTheirMediansAndCpuPerCallOfClientAndServer() throws IOException {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        Path json = dir.resolve("rounds.json");
        List<String> systems = List.of("tidewire-async", "grpc-async-direct-1ch");
        int code = CompareCommand.main(List.of("--callers", "4", "--seconds", "1", "--warmup-seconds", "1",
                "--rounds", "2", "--systems", String.join(",", systems), "--json", json.toString()),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), System.err, false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, report.path("config").path("rounds").asInt(), report::toString);
        assertTrue(report.path("config").path("cpu").asText().contains("load generator"), report::toString);
        assertEquals(systems.size(), report.path("results").size(), report::toString);
        for (JsonNode r : report.path("results")) {
            assertTrue(r.path("server").asText().endsWith("(child JVM)"), r::toString);
            JsonNode rounds = r.path("rounds");
            assertEquals(2, rounds.size(), r::toString);
            long calls = 0;
            for (int i = 0; i < 2; i++) {
                JsonNode round = rounds.get(i);
                assertEquals(i + 1, round.path("round").asInt(), r::toString);
                assertTrue(round.path("calls").asLong() > 0, r::toString);
                assertTrue(round.path("clientCpuSeconds").asDouble() > 0, r::toString);
                assertTrue(round.path("serverCpuSeconds").asDouble() > 0, r::toString);
                // the per-call figure is the window's CPU time over the window's calls
                assertEquals(round.path("clientCpuSeconds").asDouble() * 1e6 / round.path("calls").asLong(),
                        round.path("clientCpuUsPerCall").asDouble(), 0.01, r::toString);
                calls += round.path("calls").asLong();
            }
            assertEquals(calls, r.path("calls").asLong(), r::toString);
            for (String f : List.of("throughput", "p50Ms", "p99Ms", "clientCpuUsPerCall", "serverCpuUsPerCall")) {
                double lo = r.path("min").path(f).asDouble();
                double mid = r.path("median").path(f).asDouble();
                double hi = r.path("max").path(f).asDouble();
                assertTrue(lo > 0 && lo <= mid && mid <= hi, () -> f + ": " + r);
            }
            assertTrue(r.path("clientCpuUsPerCall").asDouble() > 0, r::toString);
            assertTrue(r.path("serverCpuUsPerCall").asDouble() > 0, r::toString);
            assertEquals(r.path("median").path("throughput").asDouble(), r.path("throughput").asDouble(), r::toString);
        }
        // the targets: those whose systems did not run are "not measured"
        JsonNode targets = report.path("issue15Targets");
        assertEquals(Issue15Targets.TARGETS.size(), targets.size(), targets::toString); // one line each at C = 4
        for (JsonNode t : targets) {
            boolean grpcBest = t.path("check").asText().contains("gRPC best")
                    && t.path("tidewire").asText().equals("tidewire-async");
            assertEquals(grpcBest ? "measured" : "not measured", t.path("status").asText().startsWith("not")
                    ? "not measured" : "measured", t::toString);
        }
        assertTrue(out.contains("results: medians of 2 rounds"), out);
        assertTrue(out.contains("spread over 2 rounds"), out);
        assertTrue(out.contains("[round 2/2] grpc-async-direct-1ch"), out);
        assertTrue(out.contains("server: grpc = grpc echo (child JVM); tw = tidewire reference (child JVM)")
                || out.contains("server: tw = tidewire reference (child JVM); grpc = grpc echo (child JVM)"), out);
        assertTrue(out.contains("not measured: lettuce-async did not run"), out);
        assertEquals(0L, ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count());
    }

    @Test
    @Timeout(120)
    void aServerJvmThatCannotStartIsAClearError() {
        EchoServers.Spec spec = new EchoServers.Spec(EchoServers.Kind.TIDEWIRE, false, dir.resolve("missing.p12"),
                "pw".toCharArray());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ServerProcess.start("tidewire",
                spec, List.of(), Duration.ofSeconds(60), line -> { }, line -> { }));
        assertTrue(e.getMessage().contains("exited with code 1 before reporting its port"), e::getMessage);
        assertTrue(e.getMessage().contains("missing.p12"), e::getMessage);
        assertEquals(0L, ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count());
    }

    @Test
    void serverJvmArgsAreHeapAndCollectorFlagsOnly() {
        for (String a : ServerProcess.inheritedJvmArgs()) {
            assertTrue(a.startsWith("-X") || a.startsWith("-XX:"), a);
        }
    }

    private static Set<Path> tlsDirs() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("tidewire-compare-tls-")).collect(Collectors.toSet());
        }
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
