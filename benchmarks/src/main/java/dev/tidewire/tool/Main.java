package dev.tidewire.tool;

import dev.tidewire.tool.compare.ChartCommand;
import dev.tidewire.tool.compare.CompareCommand;
import dev.tidewire.tool.load.LoadCommand;
import dev.tidewire.tool.sim.SimulateCommand;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Tidewire command-line tool: {@code demo}, {@code serve}, {@code call}, {@code load},
 * {@code compare}, {@code chart}, {@code simulate} and {@code jmh}. {@code --help} (or no
 * arguments) lists the commands; {@code <command> --help}, {@code <command> -h} and
 * {@code help <command>} print one command's options with their defaults and examples. Exit codes:
 * 0 done (and help), 1 the work failed (a call, a demo check), 2 a bad command line.
 */
public final class Main {
    /** What {@code jmh --help} and {@code help jmh} print; {@code jmh -h} is JMH's own help. */
    static final CommandHelp JMH = CommandHelp.builder("jmh", "[JMH options] [BENCHMARK regex..]",
            "Run the JMH micro-benchmarks (codec, pool, end to end, fan-out).")
            .option("-h", "JMH's own help: every option (forks, iterations, threads, parameters)")
            .option("-l", "list the benchmarks (CodecBenchmark, PoolBenchmark, EndToEndBenchmark,",
                    "FanOutBenchmark)")
            .note("Every argument goes to org.openjdk.jmh.Main as it is (defaults: JMH's and the",
                    "benchmarks' own annotations); JMH exits by itself, with 1, on errors",
                    "(docs/benchmarks-jmh.md).")
            .example("jmh CodecBenchmark -f 1 -wi 2 -i 3")
            .example("jmh PoolBenchmark -t 64 -p config=tidewire")
            .build();

    /** Every command's help, in the order the global usage lists them. */
    static final Map<String, CommandHelp> COMMANDS = commands(DemoCommand.HELP, ServeCommand.HELP, CallCommand.HELP,
            LoadCommand.HELP, CompareCommand.HELP, ChartCommand.HELP, SimulateCommand.HELP, JMH);

    /** The global usage: every command with its purpose, and where each one's help is. */
    static final String USAGE = usage();

    private Main() {
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> all = Arrays.asList(args);
        if (all.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        String command = all.get(0);
        List<String> rest = all.subList(1, all.size());
        if (command.equals("--help") || command.equals("-h")) {
            out.println(USAGE);
            return 0;
        }
        if (command.equals("help")) {
            return help(rest, out, err);
        }
        CommandHelp help = COMMANDS.get(command);
        if (help == null) {
            return new UsageException("unknown command '" + command + "'").report(err, USAGE);
        }
        if (command.equals("jmh")) { // JMH parses its own flags, -h included
            if (rest.contains("--help")) {
                out.println(help.text());
                return 0;
            }
            return dev.tidewire.bench.JmhCommand.run(rest, err);
        }
        if (asksForHelp(rest)) {
            out.println(help.text());
            return 0;
        }
        boolean live = out == System.out && System.console() != null;
        try {
            switch (command) {
                case "demo":
                    return DemoCommand.parse(rest).run(out, live);
                case "serve":
                    return ServeCommand.parse(rest).runUntilKilled(out, err);
                case "call":
                    return CallCommand.parse(rest).run(out, err);
                case "load":
                    return LoadCommand.main(rest, out, err, live);
                case "compare":
                    return CompareCommand.main(rest, out, err, live);
                case "chart":
                    return ChartCommand.main(rest, out, err);
                case "simulate":
                    return SimulateCommand.main(rest, out, err);
                default:
                    throw new IllegalStateException("no runner for command " + command);
            }
        } catch (UsageException e) {
            return e.report(err, help);
        }
    }

    /** {@code help} lists the commands; {@code help <command>} prints that command's help. */
    private static int help(List<String> rest, PrintStream out, PrintStream err) {
        if (rest.isEmpty()) {
            out.println(USAGE);
            return 0;
        }
        CommandHelp help = COMMANDS.get(rest.get(0));
        if (help == null) {
            return new UsageException("unknown command '" + rest.get(0) + "'").report(err, USAGE);
        }
        if (rest.size() > 1) {
            return new UsageException("help takes one command, got " + String.join(" ", rest)).report(err, USAGE);
        }
        out.println(help.text());
        return 0;
    }

    /** Whether {@code --help} or {@code -h} comes before the end of the flags ({@code --}). */
    static boolean asksForHelp(List<String> args) {
        for (String a : args) {
            if (a.equals("--")) {
                return false;
            }
            if (a.equals("--help") || a.equals("-h")) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, CommandHelp> commands(CommandHelp... helps) {
        Map<String, CommandHelp> m = new LinkedHashMap<>();
        for (CommandHelp h : helps) {
            m.put(h.name(), h);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    private static String usage() {
        StringBuilder b = new StringBuilder("usage: " + CommandHelp.TOOL + " <command> [options]")
                .append(System.lineSeparator()).append(System.lineSeparator()).append("commands:")
                .append(System.lineSeparator());
        for (CommandHelp h : COMMANDS.values()) {
            b.append(String.format("  %-9s %s%n", h.name(), h.purpose()));
        }
        return b.append(String.join(System.lineSeparator(),
                "",
                "'" + CommandHelp.TOOL + " <command> --help' (or -h, or 'help <command>') prints that",
                "command's options, their defaults and examples.",
                "",
                "exit codes: 0 ok, 1 failed (a call, a run with failed calls, a demo check), 2 bad command line"))
                .toString();
    }
}
