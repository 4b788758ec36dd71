package dev.tidewire.tool.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.tool.load.Result;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The arithmetic of rounds: medians, spreads and CPU per call, on known inputs. */
class CellTest {
    private static final double EPS = 1e-9;

    @Test
    void medianOfAnOddCountIsTheMiddleValueAndOfAnEvenCountTheMeanOfTheMiddleTwo() {
        Spread odd = Spread.of(List.of(30.0, 10.0, 20.0));
        assertEquals(20, odd.median(), EPS);
        assertEquals(10, odd.min(), EPS);
        assertEquals(30, odd.max(), EPS);
        assertEquals(1.0, odd.relative(), EPS); // (30 - 10) / 20
        assertEquals(List.of(30.0, 10.0, 20.0), odd.values(), "values stay in round order");

        Spread even = Spread.of(List.of(4.0, 1.0, 3.0, 2.0));
        assertEquals(2.5, even.median(), EPS);
        assertEquals(1.2, even.relative(), EPS); // (4 - 1) / 2.5

        Spread one = Spread.of(List.of(7.0));
        assertEquals(7, one.median(), EPS);
        assertEquals(0, one.relative(), EPS);
    }

    @Test
    void unmeasuredRoundsAreKeptAsNullAndLeftOutOfTheMedian() {
        Spread s = Spread.of(List.of(Double.NaN, 2.0, 6.0));
        assertEquals(4, s.median(), EPS);
        assertEquals(1.0, s.relative(), EPS);
        JsonNode j = s.toJson(1);
        assertTrue(j.path("values").get(0).isNull(), j::toString);
        assertEquals(3, j.path("values").size());

        Spread none = Spread.of(List.of(Double.NaN, Double.NaN));
        assertFalse(none.measured());
        assertTrue(Double.isNaN(none.relative()));
        assertTrue(none.toJson(1).path("median").isNull());
        assertTrue(Double.isNaN(Spread.of(List.of(0.0, 0.0)).relative()), "a zero median has no relative spread");
    }

    @Test
    void cpuPerCallIsTheWindowsCpuTimeOverItsCalls() {
        assertEquals(2.0, Cell.perCall(2_000_000, 1000), EPS); // 2 ms of CPU over 1000 calls: 2 us each
        assertTrue(Double.isNaN(Cell.perCall(-1, 1000)), "unavailable");
        assertTrue(Double.isNaN(Cell.perCall(5, 0)), "no calls");
    }

    @Test
    void aCellReportsMediansOfItsRoundsAndEachRound() {
        Cell cell = new Cell();
        // 1 s windows: 1000, 3000 and 2000 calls/s; client CPU 10, 6 and 12 ms; server unavailable in round 2
        cell.add(new Cell.Round(1, result(1000, 1_000), 10_000_000, 4_000_000));
        cell.add(new Cell.Round(2, result(3000, 3_000), 6_000_000, -1));
        cell.add(new Cell.Round(3, result(2000, 2_000), 12_000_000, 2_000_000));

        assertEquals(2000, cell.throughput(), EPS);
        assertEquals(1.0, cell.throughputSpread().relative(), EPS); // (3000 - 1000) / 2000
        // client us per call: 10, 2 and 6: median 6
        assertEquals(List.of(10.0, 2.0, 6.0), cell.clientCpuSpread().values());
        assertEquals(6, cell.clientUsPerCall(), 1e-6);
        // server us per call: 4, n/a, 1: median of the two measured
        assertEquals(2.5, cell.serverUsPerCall(), 1e-6);
        assertEquals(6000, cell.calls());
        // latency: every call of round r took r ms
        assertEquals(2, cell.ms(50), 0.01);
        assertEquals(1, cell.msSpread(99).min(), 0.01);
        assertEquals(3, cell.msSpread(99).max(), 0.01);

        ObjectNode j = cell.toJson();
        assertEquals(6000, j.path("calls").asLong());
        assertEquals(2000, j.path("throughput").asDouble(), EPS);
        assertEquals(6, j.path("clientCpuUsPerCall").asDouble(), EPS);
        assertEquals(0.028, j.path("clientCpuSeconds").asDouble(), EPS);
        assertTrue(j.path("serverCpuSeconds").isNull(), "a total with an unavailable round is unavailable");
        assertEquals(1000, j.path("min").path("throughput").asDouble(), EPS);
        assertEquals(3000, j.path("max").path("throughput").asDouble(), EPS);
        assertEquals(6, j.path("median").path("clientCpuUsPerCall").asDouble(), EPS);
        assertEquals(2, j.path("min").path("clientCpuUsPerCall").asDouble(), EPS);
        assertEquals(1.0, j.path("relativeSpread").path("throughput").asDouble(), EPS);
        assertEquals(6000, j.path("latencyMs").path("count").asLong(), "counts add up");
        assertEquals(2, j.path("latencyMs").path("p50").asDouble(), 0.01);
        assertEquals(3, j.path("rounds").size());
        assertEquals(2, j.path("rounds").get(1).path("round").asInt());
        assertTrue(j.path("rounds").get(1).path("serverCpuUsPerCall").isNull());
        assertEquals(10, j.path("rounds").get(0).path("clientCpuUsPerCall").asDouble(), EPS);
    }

    @Test
    void oneRoundIsReportedAsItself() {
        Cell cell = new Cell();
        Result r = result(500, 1_000);
        cell.add(new Cell.Round(1, r, 1_000_000, 3_000_000));
        ObjectNode j = cell.toJson();
        ObjectNode plain = r.toJson();
        for (String f : Arrays.asList("calls", "seconds", "throughput", "latencyMs", "errorCount", "errors", "unfinished")) {
            assertEquals(plain.get(f), j.get(f), f);
        }
        assertEquals(2, j.path("clientCpuUsPerCall").asDouble(), EPS);
        assertEquals(6, j.path("serverCpuUsPerCall").asDouble(), EPS);
        assertEquals(0, j.path("relativeSpread").path("throughput").asDouble(), EPS);
    }

    /** {@code calls} calls in a 1 s window, each taking {@code micros} microseconds. */
    static Result result(long calls, long micros) {
        Histogram h = new Histogram(3);
        h.recordValueWithCount(micros * 1000, calls);
        return new Result(calls, 1_000_000_000L, h, h.copy(), Map.of(), 0, null);
    }
}
