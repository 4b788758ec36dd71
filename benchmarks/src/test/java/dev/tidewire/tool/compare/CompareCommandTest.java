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
                "tidewire-async-raw", "tidewire-blocking-tls", "tidewire-async-tls",
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
        report.path("systems").forEach(s -> assertEquals(s.path("family").asText().equals("redis")
                ? "Redis: redis-server" : "child JVM", s.path("server").asText().replaceAll(" [0-9].*", ""), s::toString));
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
        // the Redis rows), TLS ones against the 2 TLS peers
        int plainPeers = 7 + (virtualThreads ? 1 : 0) + (redis ? 3 + (virtualThreads ? 1 : 0) : 0);
        assertEquals((virtualThreads ? 5 : 4) * plainPeers + 2 * 2, report.path("ratios").size(), report::toString);
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
    void inProcessServersStillWork() {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        int code = CompareCommand.main(List.of("--callers", "2", "--seconds", "1", "--warmup-seconds", "0",
                "--in-process", "--systems", "tidewire-async-tls,grpc-async-direct-1ch"),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), System.err, false);
        String out = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("servers: in this JVM"), out);
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
