package dev.tidewire.tool;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The Tidewire command-line tool: {@code demo}, {@code serve} and {@code call}. Exit codes: 0 done,
 * 1 the work failed (a call, a demo check), 2 a bad command line.
 */
public final class Main {
    static final String USAGE = String.join(System.lineSeparator(),
            "usage: java -jar tidewire-tool.jar <command> [flags]",
            "",
            "commands:",
            "  demo  [--seconds N] [--callers C] [--connections K] " + TlsFlags.USAGE,
            "        start a server on 127.0.0.1, run the seed scenario, then N seconds of load",
            "        from C callers over K connections (defaults: 5 s, 32 callers, 4 connections);",
            "        with TLS flags the server presents --tls-keystore and the clients trust",
            "        --tls-truststore (with --tls-client-auth they present the same key store)",
            "  serve --port N [--host H] [--auth-token-file F] " + MetricsFlags.USAGE,
            "        " + TlsFlags.USAGE,
            "        run the reference server on H:N (host default 127.0.0.1) until stopped;",
            "        with --metrics-port, Prometheus/OpenMetrics text at http://H:M/metrics: server,",
            "        JVM and process meters; the request timer has a percentile histogram unless",
            "        --metrics-histogram off; --metrics-slo adds exact buckets (e.g. 5ms,10ms);",
            "        with --auth-token-file, only clients whose HELLO carries the credentials",
            "        {\"type\":\"bearer\",\"token\":T} are admitted, T being the file's text without",
            "        surrounding whitespace (others get ERROR 4 UNAUTHENTICATED); a missing, unreadable",
            "        or empty file stops serve from starting. SIGTERM or Ctrl-C stops it gracefully:",
            "        GOAWAY to every client, up to " + ServeCommand.SHUTDOWN_GRACE.toSeconds()
                    + " s for the requests in flight, NOT_PROCESSED for later ones",
            "  call  --address HOST:PORT --op OP [--timeout-ms T] [--tls-truststore P12 [--tls-keystore P12]"
                    + " --tls-password PW] JSON",
            "        make one call and print the reply JSON",
            "  jmh   [JMH options]",
            "        run the JMH suites (PoolBenchmark, CodecBenchmark, EndToEndBenchmark); every",
            "        argument goes to org.openjdk.jmh.Main (jmh -h lists them; JMH exits by itself on errors)",
            dev.tidewire.tool.load.LoadCommand.USAGE,
            dev.tidewire.tool.compare.CompareCommand.USAGE,
            dev.tidewire.tool.compare.ChartCommand.USAGE,
            dev.tidewire.tool.sim.SimulateCommand.USAGE,
            "",
            "  --help  print this help",
            "",
            "exit codes: 0 ok, 1 failed (the call or a demo check), 2 bad command line");

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> all = Arrays.asList(args);
        if (args.length > 0 && args[0].equals("jmh")) { // JMH parses its own flags, -h included
            return dev.tidewire.bench.JmhCommand.run(all.subList(1, all.size()), err);
        }
        if (all.contains("--help") || all.contains("-h")) {
            out.println(USAGE);
            return 0;
        }
        if (all.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        List<String> rest = all.subList(1, all.size());
        try {
            switch (args[0]) {
                case "demo":
                    return DemoCommand.parse(rest).run(out, out == System.out && System.console() != null);
                case "serve":
                    return ServeCommand.parse(rest).runUntilKilled(out, err);
                case "call":
                    return CallCommand.parse(rest).run(out, err);
                case "load":
                    return dev.tidewire.tool.load.LoadCommand.main(rest, out, err,
                            out == System.out && System.console() != null);
                case "compare":
                    return dev.tidewire.tool.compare.CompareCommand.main(rest, out, err,
                            out == System.out && System.console() != null);
                case "chart":
                    return dev.tidewire.tool.compare.ChartCommand.main(rest, out, err);
                case "simulate":
                    return dev.tidewire.tool.sim.SimulateCommand.main(rest, out, err);
                default:
                    throw new UsageException("unknown command '" + args[0] + "'");
            }
        } catch (UsageException e) {
            return e.report(err, USAGE);
        }
    }
}
