package dev.tidewire.tool.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** Small reports in, SVG out: every chart must be well-formed XML with one line per series. */
class ChartTest {
    private static final String MATRIX = """
            {"command":"load","mode":"matrix","config":{"api":"blocking","payloadBytes":100,"seconds":3},
             "machine":{"cores":2,"java":"OpenJDK 17"},
             "runs":[
              {"connections":1,"callers":16,"throughput":1000.5,"errorCount":0},
              {"connections":2,"callers":16,"throughput":1800,"errorCount":0},
              {"connections":1,"callers":64,"throughput":1100,"errorCount":0},
              {"connections":2,"callers":64,"throughput":2100,"errorCount":1}]}
            """;
    private static final String OPEN = """
            {"command":"load","mode":"open","config":{"connections":[4],"seconds":3},
             "runs":[
              {"rate":10000,"latencyMs":{"p50":0.2,"p99":0.9,"p99.9":2.5},"errorCount":0,"openLoop":{"keptUp":true}},
              {"rate":20000,"latencyMs":{"p50":0.3,"p99":1.5,"p99.9":4},"errorCount":0,"openLoop":{"keptUp":true}},
              {"rate":40000,"latencyMs":{"p50":90,"p99":800,"p99.9":900},"errorCount":0,"openLoop":{"keptUp":false}}]}
            """;
    private static final String COMPARE = """
            {"command":"compare","config":{"payloadBytes":100,"seconds":5},
             "results":[
              {"system":"tidewire-async","callers":1,"throughput":9000,"latencyMs":{"p99":0.3},"errorCount":0},
              {"system":"tidewire-async","callers":16,"throughput":40000,"latencyMs":{"p99":1.2},"errorCount":0},
              {"system":"grpc-async-direct-1ch","callers":1,"throughput":7000,"latencyMs":{"p99":0.5},"errorCount":0},
              {"system":"grpc-async-direct-1ch","callers":16,"throughput":30000,"latencyMs":{"p99":2},"errorCount":0},
              {"system":"a <b> & \\"c\\"","callers":16,"throughput":3,"latencyMs":{"p99":0},"errorCount":0}]}
            """;

    private static final String COMPARE_ROUNDS = """
            {"command":"compare","config":{"payloadBytes":100,"seconds":5,"rounds":2},
             "results":[
              {"system":"tidewire-async","family":"tidewire","server":"tidewire reference (child JVM)","callers":1,
               "throughput":9000,"latencyMs":{"p99":0.3},"errorCount":0,"clientCpuUsPerCall":10,
               "min":{"throughput":8000,"p99Ms":0.2,"clientCpuUsPerCall":9},
               "max":{"throughput":9500,"p99Ms":0.4,"clientCpuUsPerCall":12},"rounds":[{},{}]},
              {"system":"tidewire-async","family":"tidewire","server":"tidewire reference (child JVM)","callers":16,
               "throughput":40000,"latencyMs":{"p99":1.2},"errorCount":0,"clientCpuUsPerCall":5,
               "min":{"throughput":39000,"p99Ms":1,"clientCpuUsPerCall":4},
               "max":{"throughput":41000,"p99Ms":1.5,"clientCpuUsPerCall":6},"rounds":[{},{}]},
              {"system":"lettuce-async","family":"redis","server":"redis-server","callers":1,
               "throughput":7000,"latencyMs":{"p99":0.5},"errorCount":0,"clientCpuUsPerCall":30,
               "min":{"throughput":6000,"p99Ms":0.4,"clientCpuUsPerCall":25},
               "max":{"throughput":8000,"p99Ms":0.6,"clientCpuUsPerCall":35},"rounds":[{},{}]},
              {"system":"lettuce-async","family":"redis","server":"redis-server","callers":16,
               "throughput":30000,"latencyMs":{"p99":2},"errorCount":0,"clientCpuUsPerCall":20,
               "min":{"throughput":29000,"p99Ms":1.9,"clientCpuUsPerCall":18},
               "max":{"throughput":31000,"p99Ms":2.5,"clientCpuUsPerCall":22},"rounds":[{},{}]}]}
            """;

    @TempDir
    Path dir;

    @Test
    void compareWithRoundsChartsClientCpuWithWhiskersAndMarksAnotherServer() throws Exception {
        Map<String, String> charts = ChartCommand.charts(new ObjectMapper().readTree(COMPARE_ROUNDS));
        assertEquals(List.of("throughput", "p99", "client-cpu"), List.copyOf(charts.keySet()));
        for (String svg : charts.values()) {
            Document d = parse(svg);
            assertEquals(2, d.getElementsByTagName("polyline").getLength());
            assertEquals(4, d.getElementsByTagName("path").getLength(), "a min-max whisker at each point");
            assertTrue(svg.contains("tidewire-async [tw]"), svg);
            assertTrue(svg.contains("lettuce-async [redis-server]"), svg);
            assertTrue(svg.contains("median of 2 rounds, whiskers min-max"), svg);
            // the Redis line and its legend sample are dashed, Tidewire's are not
            assertEquals(2, svg.split("stroke-dasharray", -1).length - 1, svg);
        }
        assertTrue(charts.get("client-cpu").contains("Client CPU per call"));
    }

    @Test
    void compareWithoutCpuFiguresHasNoCpuChart() throws Exception {
        assertEquals(List.of("throughput", "p99"), List.copyOf(ChartCommand.charts(new ObjectMapper()
                .readTree(COMPARE)).keySet()));
    }

    @Test
    void matrixOpenAndCompareReportsBecomeWellFormedSvg() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, String> matrix = ChartCommand.charts(json.readTree(MATRIX));
        assertEquals(List.of("throughput-vs-connections"), List.copyOf(matrix.keySet()));
        assertEquals(2, parse(matrix.get("throughput-vs-connections")).getElementsByTagName("polyline").getLength());

        Map<String, String> open = ChartCommand.charts(json.readTree(OPEN));
        Document d = parse(open.get("p99-vs-offered-load"));
        assertEquals("svg", d.getDocumentElement().getTagName());
        assertEquals(3, d.getElementsByTagName("polyline").getLength());
        assertTrue(open.get("p99-vs-offered-load").contains("did not keep up"));

        Map<String, String> compare = ChartCommand.charts(json.readTree(COMPARE));
        assertEquals(List.of("throughput", "p99"), List.copyOf(compare.keySet()));
        for (String svg : compare.values()) {
            assertEquals(3, parse(svg).getElementsByTagName("polyline").getLength());
        }
    }

    @Test
    void theCommandWritesOneFilePerChart() throws Exception {
        Path in = dir.resolve("matrix.json");
        Files.writeString(in, MATRIX);
        Path outDir = dir.resolve("img");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = ChartCommand.main(List.of("--out-dir", outDir.toString(), in.toString()),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, code, out::toString);
        Path svg = outDir.resolve("matrix-throughput-vs-connections.svg");
        assertTrue(Files.exists(svg), out::toString);
        assertEquals("svg", parse(Files.readString(svg)).getDocumentElement().getTagName());
    }

    private static Document parse(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new java.io.ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }
}
