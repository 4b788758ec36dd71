package dev.tidewire.tool.sim;

import dev.tidewire.tool.Args;
import dev.tidewire.tool.CommandHelp;
import dev.tidewire.tool.UsageException;
import dev.tidewire.tool.sim.FleetSimulation.Config;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code simulate}: the fleet simulation ({@link FleetSimulation}) with round-robin, P2C, and P2C
 * with outlier ejection; prints a table and, with {@code --out DIR}, writes
 * {@code fleet-simulation.json} and SVG charts there.
 */
public final class SimulateCommand {
    /** What {@code simulate --help} prints. */
    public static final CommandHelp HELP = CommandHelp.builder("simulate", "[options]",
            "Simulate a fleet in virtual time: round-robin, P2C, P2C + ejection.")
            .option("--seed N", "the random seed; the same seed gives the same output (default 1)")
            .option("--seconds S", "simulated seconds (default 60)")
            .option("--servers N", "servers, one 10x slow and one a black hole (default 100)")
            .option("--clients N", "clients, each with a view of every server (default 1000)")
            .option("--timeout-sample none|elapsed", "what a timed-out call feeds the balancer's latency",
                    "average: elapsed, the time waited, as the client does; none, no",
                    "sample (default elapsed)")
            .option("--evaluate-seconds S", "the outlier detection interval (default 1)")
            .option("--out DIR", "also write fleet-simulation.json and fleet-*.svg charts there",
                    "(with --timeout-sample none: fleet-simulation-none.json and",
                    "fleet-none-*.svg)")
            .note("C clients call N servers through the client's own balancer, health and outlier-detection",
                    "classes, each policy on the same calls; prints latency, errors, calls to the slow",
                    "server and the black hole, and connections per server (docs/fleet-simulation.md).")
            .example("simulate")
            .example("simulate --seed 7 --seconds 30 --out sim")
            .build();

    private final Config config;
    private final Path out;

    private SimulateCommand(Config config, Path out) {
        this.config = config;
        this.out = out;
    }

    /** Parses and runs; prints a usage error and returns 2 on a bad command line. */
    public static int main(List<String> args, PrintStream out, PrintStream err) {
        SimulateCommand c;
        try {
            c = parse(args);
        } catch (UsageException e) {
            return e.report(err, HELP);
        }
        return c.run(out, err);
    }

    static SimulateCommand parse(List<String> args) {
        Args f = Args.parse("simulate", args, Set.of("seed", "seconds", "out", "servers", "clients", "timeout-sample",
                "evaluate-seconds"), Set.of());
        f.noPositional();
        long seed;
        String seedText = f.string("seed", "1");
        try {
            seed = Long.parseLong(seedText.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--seed must be a whole number, got '" + seedText + "'");
        }
        int seconds = f.integer("seconds", 60, 1, 3600);
        int servers = f.integer("servers", 100, 3, 10_000);
        int clients = f.integer("clients", 1000, 1, 100_000);
        int evaluate = f.integer("evaluate-seconds", 1, 1, 3600);
        String sample = f.string("timeout-sample", "elapsed");
        if (!sample.equals("none") && !sample.equals("elapsed")) {
            throw new UsageException("--timeout-sample must be none or elapsed, got '" + sample + "'");
        }
        if ((long) servers * clients > 2_000_000) {
            throw new UsageException("--servers x --clients must be at most 2,000,000 (each client keeps a view of"
                    + " every server), got " + servers + " x " + clients);
        }
        Config config = Config.of(seed, servers, clients, seconds).withTimeoutSample(sample.equals("elapsed"))
                .withEvaluateSeconds(evaluate);
        String dir = f.string("out", null);
        return new SimulateCommand(config, dir == null ? null : Path.of(dir));
    }

    Config config() {
        return config;
    }

    int run(PrintStream out, PrintStream err) {
        FleetSimulation.Result r = FleetSimulation.run(config, Runtime.getRuntime().availableProcessors());
        out.print(FleetReport.table(r));
        if (this.out != null) {
            try {
                Files.createDirectories(this.out);
                // the client's model (timeouts as samples) writes fleet-simulation.json and fleet-*.svg; with
                // --timeout-sample none, fleet-simulation-none.json and fleet-none-*.svg, so both fit in one directory
                String mode = config.timeoutSample() ? "" : "none";
                Path json = this.out.resolve(mode.isEmpty() ? "fleet-simulation.json" : "fleet-simulation-none.json");
                Files.writeString(json, FleetReport.json(r), StandardCharsets.UTF_8);
                out.println("wrote " + json);
                for (Map.Entry<String, String> chart : FleetReport.charts(r, mode.isEmpty() ? "fleet-" : "fleet-none-")
                        .entrySet()) {
                    Path p = this.out.resolve(chart.getKey());
                    Files.writeString(p, chart.getValue(), StandardCharsets.UTF_8);
                    out.println("wrote " + p);
                }
            } catch (IOException e) {
                err.println("error: " + this.out + ": " + e);
                return 1;
            }
        }
        return 0;
    }
}
