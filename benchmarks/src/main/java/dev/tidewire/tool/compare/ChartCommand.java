package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tidewire.tool.UsageException;
import dev.tidewire.tool.Args;
import dev.tidewire.tool.CommandHelp;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code chart}: turns the JSON written by {@code load} and {@code compare} into SVG charts:
 * <ul>
 *   <li>{@code load --matrix}: throughput against maxConnections, one line per caller count;</li>
 *   <li>{@code load --rates}: p50/p99/p99.9 latency against offered load (hollow markers where the
 *       open loop did not keep up);</li>
 *   <li>{@code compare}: throughput, p99 and client CPU per call against callers, one line per
 *       system (the medians over the rounds, with min-max whiskers; each legend names the
 *       system's server, dashed for another server such as Redis).</li>
 * </ul>
 */
public final class ChartCommand {
    /** What {@code chart --help} prints. */
    public static final CommandHelp HELP = CommandHelp.builder("chart", "[--out-dir DIR] FILE.json...",
            "SVG charts from the JSON of load --matrix, load --rates and compare.")
            .option("--out-dir DIR", "where the charts go (default: the current directory)")
            .option("FILE.json...", "the JSON reports of load and compare")
            .note("load --matrix: throughput against maxConnections, a line per caller count; load --rates:",
                    "p50/p99/p99.9 against offered load (hollow markers where the open loop did not keep up);",
                    "compare: throughput, p99 and client CPU per call against callers, a line per system",
                    "(medians; min-max whiskers with --rounds; the legend names each system's server, dashed",
                    "for another server such as Redis). Each chart is DIR/<file name>-<chart>.svg.")
            .example("chart --out-dir charts open.json compare.json")
            .build();

    private static final ObjectMapper JSON = new ObjectMapper();

    private ChartCommand() {
    }

    /** Parses and runs; prints a usage error and returns 2 on a bad command line. */
    public static int main(List<String> args, PrintStream out, PrintStream err) {
        Args f;
        try {
            f = Args.parse("chart", args, Set.of("out-dir"), Set.of());
            if (f.positional().isEmpty()) {
                throw new UsageException("chart needs at least one JSON file");
            }
        } catch (UsageException e) {
            return e.report(err, HELP);
        }
        Path outDir = Path.of(f.string("out-dir", "."));
        int written = 0;
        for (String file : f.positional()) {
            try {
                Map<String, String> charts = charts(JSON.readTree(Path.of(file).toFile()));
                if (charts.isEmpty()) {
                    err.println("error: " + file + ": nothing to chart (a single closed-loop run has one point)");
                    return 1;
                }
                Files.createDirectories(outDir);
                String stem = Path.of(file).getFileName().toString().replaceFirst("\\.json$", "");
                for (Map.Entry<String, String> c : charts.entrySet()) {
                    Path target = outDir.resolve(stem + "-" + c.getKey() + ".svg");
                    Files.writeString(target, c.getValue(), StandardCharsets.UTF_8);
                    out.println("wrote " + target);
                    written++;
                }
            } catch (IOException e) {
                err.println("error: " + file + ": " + e.getMessage());
                return 1;
            }
        }
        return written > 0 ? 0 : 1;
    }

    /** The charts for one report: file suffix to SVG text; empty if the report has nothing to chart. */
    static Map<String, String> charts(JsonNode report) {
        Map<String, String> out = new LinkedHashMap<>();
        String command = report.path("command").asText();
        String mode = report.path("mode").asText();
        String machine = machine(report);
        if (command.equals("load") && mode.equals("matrix")) {
            Map<Integer, List<Svg.Point>> byCallers = new LinkedHashMap<>();
            for (JsonNode r : report.path("runs")) {
                byCallers.computeIfAbsent(r.path("callers").asInt(), k -> new ArrayList<>())
                        .add(new Svg.Point(r.path("connections").asDouble(), r.path("throughput").asDouble(),
                                r.path("errorCount").asLong() > 0));
            }
            List<Svg.Series> series = new ArrayList<>();
            byCallers.forEach((c, pts) -> series.add(new Svg.Series("C = " + c + " callers", pts)));
            JsonNode cfg = report.path("config");
            out.put("throughput-vs-connections", Svg.lineChart("Throughput against maxConnections",
                    "closed loop, " + cfg.path("api").asText() + " API, echo ~" + cfg.path("payloadBytes").asInt()
                            + " B, " + cfg.path("seconds").asInt() + " s per point; " + machine,
                    "maxConnections", "calls per second", series, true, false));
        } else if (command.equals("load") && mode.equals("open")) {
            List<Svg.Point> p50 = new ArrayList<>();
            List<Svg.Point> p99 = new ArrayList<>();
            List<Svg.Point> p999 = new ArrayList<>();
            for (JsonNode r : report.path("runs")) {
                double rate = r.path("rate").asDouble();
                boolean flagged = !r.path("openLoop").path("keptUp").asBoolean(true) || r.path("errorCount").asLong() > 0;
                JsonNode l = r.path("latencyMs");
                p50.add(new Svg.Point(rate, l.path("p50").asDouble(), flagged));
                p99.add(new Svg.Point(rate, l.path("p99").asDouble(), flagged));
                p999.add(new Svg.Point(rate, l.path("p99.9").asDouble(), flagged));
            }
            if (!p99.isEmpty()) {
                JsonNode cfg = report.path("config");
                double lo = p99.stream().mapToDouble(Svg.Point::x).min().orElse(1);
                double hi = p99.stream().mapToDouble(Svg.Point::x).max().orElse(1);
                out.put("p99-vs-offered-load", Svg.lineChart("Latency against offered load (open loop)",
                        "latency from the intended send time; maxConnections " + cfg.path("connections").path(0).asInt()
                                + ", " + cfg.path("seconds").asInt() + " s per rate; " + machine,
                        "offered load, calls per second", "latency, ms",
                        List.of(new Svg.Series("p50", p50), new Svg.Series("p99", p99), new Svg.Series("p99.9", p999)),
                        hi / lo >= 4, true));
            }
        } else if (command.equals("compare")) {
            compareCharts(report, machine, out);
        }
        return out;
    }

    /**
     * {@code compare}: throughput, p99 and client CPU per call against C, a line per system: the
     * medians over the rounds, with min-max whiskers when there was more than one round. Each
     * legend names the system's server; systems against another server (Redis) are dashed.
     */
    private static void compareCharts(JsonNode report, String machine, Map<String, String> out) {
        Map<String, List<Svg.Point>> thr = new LinkedHashMap<>();
        Map<String, List<Svg.Point>> p99 = new LinkedHashMap<>();
        Map<String, List<Svg.Point>> cpu = new LinkedHashMap<>();
        Map<String, String> legend = new LinkedHashMap<>();
        Map<String, Boolean> dashed = new LinkedHashMap<>();
        int rounds = report.path("config").path("rounds").asInt(1);
        for (JsonNode r : report.path("results")) {
            String s = r.path("system").asText();
            ServerKind kind = r.has("server") ? ServerKind.ofLabel(r.path("server").asText())
                    : ServerKind.of(r.path("family").asText());
            legend.putIfAbsent(s, s + (r.has("server") || r.has("family") ? " [" + kind.legend() + "]" : ""));
            dashed.putIfAbsent(s, kind.otherServer());
            double c = r.path("callers").asDouble();
            boolean flagged = r.path("errorCount").asLong() > 0;
            thr.computeIfAbsent(s, k -> new ArrayList<>()).add(point(r, c, r.path("throughput"), "throughput", flagged));
            p99.computeIfAbsent(s, k -> new ArrayList<>()).add(point(r, c, r.path("latencyMs").path("p99"), "p99Ms",
                    flagged));
            if (r.path("clientCpuUsPerCall").isNumber()) {
                cpu.computeIfAbsent(s, k -> new ArrayList<>()).add(point(r, c, r.path("clientCpuUsPerCall"),
                        "clientCpuUsPerCall", flagged));
            }
        }
        if (thr.isEmpty()) {
            return;
        }
        JsonNode cfg = report.path("config");
        String note = "echo ~" + cfg.path("payloadBytes").asInt() + " B, closed loop, " + cfg.path("seconds").asInt()
                + " s per cell" + (rounds > 1 ? ", median of " + rounds + " rounds, whiskers min-max" : "") + "; "
                + machine;
        // log scales: the rows span two orders of magnitude (gRPC's blocking stub to Tidewire async)
        out.put("throughput", Svg.lineChart("Throughput against callers", note, "callers (C)", "calls per second",
                series(thr, legend, dashed), true, true));
        out.put("p99", Svg.lineChart("p99 latency against callers", note, "callers (C)", "p99 latency, ms",
                series(p99, legend, dashed), true, true));
        if (!cpu.isEmpty()) {
            out.put("client-cpu", Svg.lineChart("Client CPU per call against callers (incl. the load generator)",
                    note, "callers (C)", "client CPU per call, us", series(cpu, legend, dashed), true, true));
        }
    }

    /** A point at the cell's median, with a whisker from its {@code min} to its {@code max} of {@code figure} if any. */
    private static Svg.Point point(JsonNode cell, double c, JsonNode median, String figure, boolean flagged) {
        JsonNode lo = cell.path("min").path(figure);
        JsonNode hi = cell.path("max").path(figure);
        boolean whisker = cell.path("rounds").size() > 1 && lo.isNumber() && hi.isNumber();
        return new Svg.Point(c, median.asDouble(), flagged, whisker ? lo.asDouble() : Double.NaN,
                whisker ? hi.asDouble() : Double.NaN);
    }

    private static List<Svg.Series> series(Map<String, List<Svg.Point>> points, Map<String, String> legend,
            Map<String, Boolean> dashed) {
        List<Svg.Series> out = new ArrayList<>();
        points.forEach((s, pts) -> out.add(new Svg.Series(legend.get(s), pts, dashed.get(s))));
        return out;
    }

    private static String machine(JsonNode report) {
        JsonNode m = report.path("machine");
        if (m.isMissingNode()) {
            return "";
        }
        String java = m.path("java").asText();
        return m.path("cores").asInt() + " cores, JDK " + java.substring(java.lastIndexOf(' ') + 1).replaceFirst("[+-].*", "");
    }
}
