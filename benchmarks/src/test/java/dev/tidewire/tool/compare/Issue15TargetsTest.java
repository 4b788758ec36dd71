package dev.tidewire.tool.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tidewire.tool.compare.CompareCommand.SystemUnderTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 15's targets on a made-up table: ratios of medians, the best peer, and "not measured". */
class Issue15TargetsTest {
    private final List<SystemUnderTest> systems = new ArrayList<>();
    private final Map<String, Map<Integer, Cell>> table = new LinkedHashMap<>();

    /** A system that ran at C = 16: {@code calls} calls in 1 s, {@code clientCpuMs} of client CPU. */
    private void ran(String name, String family, boolean async, boolean tls, long calls, long clientCpuMs) {
        systems.add(new SystemUnderTest(name, family, async, tls, false, name, null));
        Cell cell = new Cell();
        cell.add(new Cell.Round(1, CellTest.result(calls, 100), clientCpuMs * 1_000_000, 1_000_000));
        table.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(16, cell);
    }

    @Test
    void targetsAreRatiosOfMediansAgainstTheRightPeerAndUnmeasuredOnesAreSaidSo() {
        ran("tidewire-blocking", "tidewire", false, false, 8000, 40);
        ran("tidewire-async", "tidewire", true, false, 10_000, 20);             // 2 us per call
        ran("grpc-blocking-1ch", "grpc", false, false, 3000, 90);
        ran("grpc-blocking-4ch", "grpc", false, false, 5000, 150);              // best blocking throughput
        ran("grpc-async-default-1ch", "grpc", true, false, 10_000, 300);        // 30 us
        ran("grpc-async-direct-1ch", "grpc", true, false, 10_000, 200);         // 20 us: lowest plaintext
        ran("grpc-async-direct-1ch-tls", "grpc", true, true, 10_000, 10);       // 1 us: TLS, the peer of tidewire-async-tls only
        ran("lettuce-async", "redis", true, false, 5000, 50);                   // 10 us
        ran("tidewire-async-tls", "tidewire", true, true, 10_000, 3);           // 0.3 us
        ran("tidewire-async-raw", "tidewire", true, false, 10_000, 10);         // 1 us
        ran("grpc-async-direct-4ch-tls", "grpc", true, true, 10_000, 30);       // 3 us: not the lowest over TLS
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ArrayNode a = Issue15Targets.check(table, systems, List.of(16), 1, new PrintStream(bytes, true,
                StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);

        assertEquals(Issue15Targets.TARGETS.size(), a.size(), a::toPrettyString);
        assertTarget(a.get(0), "lettuce-async", "met", 0.2);
        assertTarget(a.get(1), "grpc-async-direct-1ch", "met", 0.1);
        assertTarget(a.get(2), "jedis-pool", "not measured", Double.NaN);
        assertTarget(a.get(3), "jedis-pool", "not measured", Double.NaN);
        assertTarget(a.get(4), "grpc-blocking-4ch", "NOT met", 1.6);
        assertTarget(a.get(5), "grpc-blocking-vt", "not measured", Double.NaN);
        assertTarget(a.get(6), "lettuce-sync-vt", "not measured", Double.NaN);
        assertTarget(a.get(7), "grpc-async-direct-1ch-tls", "NOT met", 0.3); // TLS against TLS only
        assertTarget(a.get(8), "lettuce-async", "met", 0.1);                  // the raw row, checked too
        assertTarget(a.get(9), "grpc-async-direct-1ch", "met", 0.05);
        assertTarget(a.get(10), "jedis-pool", "not measured", Double.NaN);
        assertEquals("tidewire-async-raw", a.get(8).path("tidewire").asText());
        assertEquals("jedis-pool did not run", a.get(2).path("reason").asText());
        assertEquals("tidewire-blocking-vt and grpc-blocking-vt did not run", a.get(5).path("reason").asText());
        assertTrue(a.get(2).path("callers").isNull() && a.get(2).path("met").isNull(), a.get(2)::toString);
        assertEquals(16, a.get(0).path("callers").asInt());
        assertEquals(2, a.get(0).path("tidewireValue").asDouble(), 1e-9);
        assertEquals(10, a.get(0).path("peerValue").asDouble(), 1e-9);
        assertEquals("clientCpuUsPerCall", a.get(0).path("figure").asText());
        assertEquals("throughput", a.get(4).path("figure").asText());

        assertTrue(out.contains("issue 15 targets"), out);
        assertEquals(6, out.lines().filter(l -> l.contains("not measured: ")).count(), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("throughput >= 2x gRPC blocking best")
                && l.contains("grpc-blocking-4ch") && l.contains("1.60x") && l.endsWith("NOT met")), out);
    }

    @Test
    void withoutAnyPeerEveryTargetIsNotMeasured() {
        ran("tidewire-async", "tidewire", true, false, 10_000, 20);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ArrayNode a = Issue15Targets.check(table, systems, List.of(16), 1, new PrintStream(bytes, true,
                StandardCharsets.UTF_8));
        a.forEach(t -> assertEquals("not measured", t.path("status").asText(), t::toString));
        assertEquals("a plaintext grpc-* system did not run", a.get(1).path("reason").asText());
        assertEquals("tidewire-blocking and jedis-pool did not run", a.get(2).path("reason").asText());
        assertEquals("tidewire-async-tls and a grpc-*-tls system did not run", a.get(7).path("reason").asText());
    }

    private static void assertTarget(JsonNode t, String peer, String status, double value) {
        assertEquals(peer, t.path("peer").asText(), t::toString);
        assertEquals(status, t.path("status").asText(), t::toString);
        if (Double.isNaN(value)) {
            assertTrue(t.path("value").isNull(), t::toString);
        } else {
            assertEquals(value, t.path("value").asDouble(), 1e-9, t::toString);
            assertEquals(status.equals("met"), t.path("met").asBoolean(), t::toString);
        }
    }
}
