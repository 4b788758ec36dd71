package dev.tidewire.tool.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.tool.compare.Svg;
import dev.tidewire.tool.sim.FleetSimulation.Config;
import dev.tidewire.tool.sim.FleetSimulation.Connections;
import dev.tidewire.tool.sim.FleetSimulation.Result;
import dev.tidewire.tool.sim.FleetSimulation.ServerSpec;
import dev.tidewire.tool.sim.FleetSimulation.StrategyResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The simulation's results as a text table, JSON and SVG charts. Nothing here reads a clock or
 * the machine: the same result gives the same bytes.
 */
public final class FleetReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private FleetReport() {
    }

    /** One line describing the model. */
    public static String describe(Result r) {
        Config c = r.config();
        return String.format(Locale.ROOT, "%d servers (%d-%d workers, lognormal service, median %s ms, sigma %s;"
                + " %s slow x%s, %s a black hole), %d clients, %s s virtual, seed %d", c.servers(), c.minWorkers(),
                c.maxWorkers(), num(c.medianMs()), num(c.serviceSigma()), r.fleet().get(c.slowServer()).name()
                        .replaceFirst(" .*", ""), num(c.slowFactor()),
                r.fleet().get(c.blackholeServer()).name().replaceFirst(" .*", ""), c.clients(), num(c.seconds()),
                c.seed());
    }

    /** The text table. */
    public static String table(Result r) {
        Config c = r.config();
        StringBuilder b = new StringBuilder();
        b.append("fleet simulation: ").append(describe(r)).append('\n');
        b.append(String.format(Locale.ROOT, "offered %,.0f calls/s (Poisson) = %.0f %% of the answering servers'"
                + " capacity %,.0f calls/s; deadline %s ms, one attempt; timeouts %s%n", r.offeredRate(),
                100 * c.utilisation(), r.capacity(), num(c.deadlineMs()), c.timeoutSample()
                        ? "end the load with the time waited (a sample)" : "end the load with -1 (no sample)"));
        b.append(String.format(Locale.ROOT, "ejection: per client, evaluated every %s s; consecutive failures %d,"
                + " min volume %d per interval, success rate ratio %s, %s-%s s, at most %s of the fleet,"
                + " slow start %s s%n%n", num(c.evaluateSeconds()), c.detector().consecutiveFailures(),
                c.detector().minVolume(), num(c.detector().successRateRatio()),
                num(c.detector().baseEjectionNanos() / 1e9), num(c.detector().maxEjectionNanos() / 1e9),
                num(c.detector().maxEjectedShare()), num(c.detector().slowStartNanos() / 1e9)));
        b.append(String.format(Locale.ROOT, "%-13s %11s %9s %8s %9s %9s %9s %9s %9s %9s %9s  %s%n", "strategy",
                "calls", "errors", "error %", "ok p50", "ok p99", "ok p99.9", "all p99", "all p99.9", "to slow",
                "to b.hole", "ejections"));
        for (StrategyResult s : r.strategies()) {
            b.append(String.format(Locale.ROOT, "%-13s %,11d %,9d %7.3f%% %9.1f %9.1f %9.1f %9.1f %9.1f %8.3f%% %8.3f%%"
                    + "  %s%n", s.strategy().label(), s.calls(), s.errors(), 100 * s.errorRate(),
                    s.latency().p50(), s.latency().p99(), s.latency().p999(), s.allCalls().p99(), s.allCalls().p999(),
                    100 * s.share(c.slowServer()), 100 * s.share(c.blackholeServer()), ejections(c, s)));
        }
        b.append("errors by server (black hole / slow / others):");
        for (StrategyResult s : r.strategies()) {
            long hole = s.errorsPerServer()[c.blackholeServer()];
            long slow = s.errorsPerServer()[c.slowServer()];
            b.append(String.format(Locale.ROOT, " %s %,d / %,d / %,d;", s.strategy().label(), hole, slow,
                    s.errors() - hole - slow));
        }
        b.setLength(b.length() - 1);
        b.append('\n');
        b.append(String.format(Locale.ROOT, "(latency in ms; errors are timeouts; ok: successful calls; all: every call,"
                + " a timeout counting as its deadline; to slow, to b.hole: share of the calls sent there (a fair share"
                + " is %.3f %%); ejections: total (black hole/slow/others))%n%n", 100.0 / c.servers()));
        b.append("connections per server = sum over clients of the connections each keeps to it: a client opens as many\n"
                + "as its concurrent calls to that server need, up to maxConnections, and at least 1 to every server it\n"
                + "used, so at most clients x maxConnections = ");
        List<String> bounds = new ArrayList<>();
        for (int k : c.maxConnections()) {
            bounds.add(String.format(Locale.ROOT, "%,d", (long) c.clients() * k));
        }
        b.append(String.join(" / ", bounds)).append(" (maxConnections ")
                .append(String.join(" / ", c.maxConnections().stream().map(String::valueOf).toList())).append(")\n");
        b.append(String.format(Locale.ROOT, "%-13s %14s %8s %8s %8s %11s%n", "strategy", "maxConnections", "max",
                "mean", "slow", "black hole"));
        for (StrategyResult s : r.strategies()) {
            for (Connections k : s.connections()) {
                b.append(String.format(Locale.ROOT, "%-13s %14d %,8d %,8.0f %,8d %,11d%n", s.strategy().label(),
                        k.maxConnections(), k.max(), k.mean(), k.slowServer(), k.blackhole()));
            }
        }
        return b.toString();
    }

    private static String ejections(Config c, StrategyResult s) {
        if (s.strategy() != FleetSimulation.Strategy.P2C_EJECTION) {
            return "-";
        }
        return s.totalEjections() + " (" + s.ejections()[c.blackholeServer()] + "/" + s.ejections()[c.slowServer()]
                + "/" + s.otherEjections(c) + ")";
    }

    /** The JSON report (no timestamps, no machine: the same seed gives the same bytes). */
    public static String json(Result r) {
        Config c = r.config();
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("command", "simulate");
        root.put("model", describe(r));
        ObjectNode cfg = root.putObject("config");
        cfg.put("seed", c.seed());
        cfg.put("servers", c.servers());
        cfg.put("clients", c.clients());
        cfg.put("seconds", c.seconds());
        cfg.put("minWorkers", c.minWorkers());
        cfg.put("maxWorkers", c.maxWorkers());
        cfg.put("medianMs", c.medianMs());
        cfg.put("medianSpread", c.medianSpread());
        cfg.put("serviceSigma", c.serviceSigma());
        cfg.put("slowFactor", c.slowFactor());
        cfg.put("utilisation", c.utilisation());
        cfg.put("deadlineMs", c.deadlineMs());
        cfg.put("evaluateSeconds", c.evaluateSeconds());
        cfg.put("initialLatencyMs", c.initialLatencyMs());
        cfg.put("timeoutSample", c.timeoutSample() ? "elapsed" : "none");
        ObjectNode d = cfg.putObject("detector");
        d.put("consecutiveFailures", c.detector().consecutiveFailures());
        d.put("minVolume", c.detector().minVolume());
        d.put("successRateRatio", c.detector().successRateRatio());
        d.put("baseEjectionSeconds", c.detector().baseEjectionNanos() / 1e9);
        d.put("maxEjectionSeconds", c.detector().maxEjectionNanos() / 1e9);
        d.put("maxEjectedShare", c.detector().maxEjectedShare());
        d.put("slowStartSeconds", c.detector().slowStartNanos() / 1e9);
        ArrayNode mc = cfg.putArray("maxConnections");
        c.maxConnections().forEach(mc::add);
        ObjectNode fleet = root.putObject("fleet");
        fleet.put("capacity", round(r.capacity()));
        fleet.put("offeredRate", round(r.offeredRate()));
        fleet.put("slowServer", r.fleet().get(c.slowServer()).name());
        fleet.put("blackhole", r.fleet().get(c.blackholeServer()).name());
        ArrayNode servers = fleet.putArray("servers");
        for (ServerSpec s : r.fleet()) {
            ObjectNode o = servers.addObject();
            o.put("name", s.name());
            o.put("workers", s.workers());
            o.put("medianMs", round(s.medianMs()));
        }
        ArrayNode strategies = root.putArray("strategies");
        for (StrategyResult s : r.strategies()) {
            ObjectNode o = strategies.addObject();
            o.put("strategy", s.strategy().label());
            o.put("calls", s.calls());
            o.put("successes", s.successes());
            o.put("errors", s.errors());
            o.put("errorRate", round(s.errorRate()));
            ObjectNode l = o.putObject("latencyMs");
            l.put("p50", round(s.latency().p50()));
            l.put("p90", round(s.latency().p90()));
            l.put("p99", round(s.latency().p99()));
            l.put("p99.9", round(s.latency().p999()));
            l.put("max", round(s.latency().max()));
            ObjectNode a = o.putObject("allCallsLatencyMs");
            a.put("p50", round(s.allCalls().p50()));
            a.put("p90", round(s.allCalls().p90()));
            a.put("p99", round(s.allCalls().p99()));
            a.put("p99.9", round(s.allCalls().p999()));
            a.put("max", round(s.allCalls().max()));
            o.put("slowShare", round(s.share(c.slowServer())));
            o.put("blackholeShare", round(s.share(c.blackholeServer())));
            o.put("utilisation", round(s.utilisation()));
            ObjectNode e = o.putObject("ejections");
            e.put("total", s.totalEjections());
            e.put("blackhole", s.ejections()[c.blackholeServer()]);
            e.put("slow", s.ejections()[c.slowServer()]);
            e.put("others", s.otherEjections(c));
            ArrayNode conns = o.putArray("connectionsPerServer");
            for (Connections k : s.connections()) {
                ObjectNode x = conns.addObject();
                x.put("maxConnections", k.maxConnections());
                x.put("max", k.max());
                x.put("mean", round(k.mean()));
                x.put("slowServer", k.slowServer());
                x.put("blackhole", k.blackhole());
            }
            longs(o.putArray("sentPerServer"), s.sentPerServer());
            longs(o.putArray("errorsPerServer"), s.errorsPerServer());
            ObjectNode eb = o.putObject("errorsBy");
            eb.put("blackhole", s.errorsPerServer()[c.blackholeServer()]);
            eb.put("slow", s.errorsPerServer()[c.slowServer()]);
            eb.put("others", s.errors() - s.errorsPerServer()[c.blackholeServer()] - s.errorsPerServer()[c.slowServer()]);
            ObjectNode ps = o.putObject("perSecond");
            longs(ps.putArray("toSlow"), s.slowPerSecond());
            longs(ps.putArray("toBlackhole"), s.blackholePerSecond());
            longs(ps.putArray("errors"), s.errorsPerSecond());
            longs(ps.putArray("clientsWithSlowEjected"), s.slowEjectedPerSecond());
            longs(ps.putArray("clientsWithBlackholeEjected"), s.blackholeEjectedPerSecond());
        }
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The charts: file name (without directory) to SVG text. */
    public static Map<String, String> charts(Result r, String prefix) {
        Config c = r.config();
        Map<String, String> out = new LinkedHashMap<>();
        String note = describeShort(r);
        // latency percentiles on a "nines" axis: x = -log10(1 - q)
        double[] qs = {0.5, 0.9, 0.99, 0.999};
        String[] names = {"p50", "p90", "p99", "p99.9"};
        List<Double> ticks = new ArrayList<>();
        for (double q : qs) {
            ticks.add(nines(q));
        }
        Svg.XAxis percentiles = new Svg.XAxis(ticks, x -> {
            for (int i = 0; i < qs.length; i++) {
                if (Math.abs(nines(qs[i]) - x) < 1e-9) {
                    return names[i];
                }
            }
            return "";
        }, true);
        for (boolean all : new boolean[] {false, true}) {
            List<Svg.Series> lat = new ArrayList<>();
            for (StrategyResult s : r.strategies()) {
                FleetSimulation.Latency l = all ? s.allCalls() : s.latency();
                double[] v = {l.p50(), l.p90(), l.p99(), l.p999()};
                List<Svg.Point> pts = new ArrayList<>();
                for (int i = 0; i < qs.length; i++) {
                    pts.add(new Svg.Point(nines(qs[i]), v[i], false));
                }
                lat.add(new Svg.Series(s.strategy().label(), pts));
            }
            lat = sameAs(lat);
            out.put(prefix + (all ? "latency-all.svg" : "latency.svg"), Svg.lineChart(all
                    ? "Latency of all calls (a timeout counts as " + num(c.deadlineMs()) + " ms)"
                    : "Latency of successful calls", note, "percentile", "latency, ms", lat, false, true, percentiles));
        }
        out.put(prefix + "slow-calls.svg", perSecond(r, "Calls per second sent to the slow server (x"
                + num(c.slowFactor()) + ")", note, "calls per second", StrategyResult::slowPerSecond));
        out.put(prefix + "blackhole-calls.svg", perSecond(r, "Calls per second sent to the black hole", note,
                "calls per second", StrategyResult::blackholePerSecond));
        out.put(prefix + "errors.svg", perSecond(r, "Errors (timeouts) per second, by second sent", note,
                "errors per second", StrategyResult::errorsPerSecond));
        return out;
    }

    private static String perSecond(Result r, String title, String note, String yLabel,
            java.util.function.Function<StrategyResult, long[]> series) {
        List<Svg.Series> lines = new ArrayList<>();
        int len = 0;
        for (StrategyResult s : r.strategies()) {
            long[] v = series.apply(s);
            len = Math.max(len, v.length);
            List<Svg.Point> pts = new ArrayList<>();
            for (int i = 0; i < v.length; i++) {
                pts.add(new Svg.Point(i, v[i], false));
            }
            lines.add(new Svg.Series(s.strategy().label(), pts));
        }
        lines = sameAs(lines);
        double step = Svg.niceStep(Math.max(1, len) / 6.0);
        List<Double> ticks = new ArrayList<>();
        for (double t = 0; t <= len; t += step) {
            ticks.add(t);
        }
        return Svg.lineChart(title, note, "virtual time, s", yLabel, lines, false, false,
                new Svg.XAxis(ticks, null, false));
    }

    /** Names a series drawn exactly over an earlier one "(same as ...)", since only the later one shows. */
    private static List<Svg.Series> sameAs(List<Svg.Series> series) {
        List<Svg.Series> out = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Svg.Series s = series.get(i);
            String name = s.name();
            for (int j = 0; j < i; j++) {
                if (series.get(j).points().equals(s.points())) {
                    name += " (same as " + series.get(j).name() + ")";
                    break;
                }
            }
            out.add(new Svg.Series(name, s.points()));
        }
        return out;
    }

    private static String describeShort(Result r) {
        Config c = r.config();
        return String.format(Locale.ROOT, "simulated: %d servers, %d clients, %.0f %% load, deadline %s ms,"
                + " timeouts %s, seed %d", c.servers(), c.clients(), 100 * c.utilisation(), num(c.deadlineMs()),
                c.timeoutSample() ? "as samples" : "no sample", c.seed());
    }

    private static double nines(double q) {
        return -Math.log10(1 - q);
    }

    private static void longs(ArrayNode a, long[] v) {
        for (long x : v) {
            a.add(x);
        }
    }

    /** Sum of a per-second series over a window of seconds [from, to). */
    static long sum(long[] v, int from, int to) {
        long s = 0;
        for (int i = Math.max(0, from); i < Math.min(v.length, to); i++) {
            s += v[i];
        }
        return s;
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }

    private static String num(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
