package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.tool.load.AsyncTarget;
import dev.tidewire.tool.UsageException;
import dev.tidewire.tool.load.BlockingTarget;
import dev.tidewire.tool.Args;
import dev.tidewire.tool.load.Machine;
import dev.tidewire.tool.load.Progress;
import dev.tidewire.tool.load.Result;
import dev.tidewire.tool.load.Runner;
import dev.tidewire.tool.load.TidewireTargets;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code compare}: the same echo workload (about 100-byte bodies, closed loop with C callers)
 * through Tidewire and its peers, one after another in one run on one machine, each against its
 * own loopback server started here: Tidewire's blocking and async APIs; gRPC-java unary over
 * Netty (blocking stub, async stub on the default executor, async stub on a direct executor; 1
 * and 4 channels); and an exclusive-lease commons-pool2 pool of blocking sockets. Each system is
 * started, measured for every C (each cell after its own warm-up), and shut down completely (its
 * threads gone) before the next starts.
 */
public final class CompareCommand {
    public static final String USAGE = String.join(System.lineSeparator(),
            "  compare [--callers 1,16,64,256] [--seconds 5] [--warmup-seconds 2] [--json FILE]",
            "        [--tidewire-connections 4] [--grpc-channels 1,4] [--pool-size 8] [--payload-bytes 100]",
            "        [--systems NAME,..] [--timeout-ms 5000]",
            "        the same echo load through Tidewire (blocking, async; JSON trees, or raw bytes like the",
            "        peers), gRPC-java (blocking, async default executor, async direct executor) and an",
            "        exclusive-lease socket pool, one system after another, each on its own loopback",
            "        server; prints a table and ratios");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String TIDEWIRE = "tidewire";
    /** Callers of the priming run: enough to reach every connection or channel. */
    private static final int PRIME_CALLERS = 8;

    /** A started system: hands out a target per cell and shuts everything down on close. */
    interface Started extends AutoCloseable {
        BlockingTarget blocking(int callers);

        AsyncTarget async(int callers);

        @Override
        void close();
    }

    /** A system under test: its name, family (tidewire, grpc, pool), API style and how to start it. */
    record SystemUnderTest(String name, String family, boolean async, String description,
            Function<CompareCommand, Started> starter) {
    }

    private final List<Integer> callers;
    private final int seconds;
    private final int warmupSeconds;
    private final int tidewireConnections;
    private final List<Integer> grpcChannels;
    private final int poolSize;
    private final int payloadBytes;
    private final Duration timeout;
    private final List<String> only;
    private final Path json;

    private CompareCommand(List<Integer> callers, int seconds, int warmupSeconds, int tidewireConnections,
            List<Integer> grpcChannels, int poolSize, int payloadBytes, Duration timeout, List<String> only, Path json) {
        this.callers = callers;
        this.seconds = seconds;
        this.warmupSeconds = warmupSeconds;
        this.tidewireConnections = tidewireConnections;
        this.grpcChannels = grpcChannels;
        this.poolSize = poolSize;
        this.payloadBytes = payloadBytes;
        this.timeout = timeout;
        this.only = only;
        this.json = json;
    }

    /** Parses and runs; prints a usage error and returns 2 on a bad command line. */
    public static int main(List<String> args, PrintStream out, PrintStream err, boolean live) {
        CompareCommand c;
        try {
            c = parse(args);
        } catch (UsageException e) {
            return e.report(err, USAGE);
        }
        return c.run(out, err, live);
    }

    static CompareCommand parse(List<String> args) {
        Args f = Args.parse("compare", args, Set.of("callers", "seconds", "warmup-seconds", "json",
                "tidewire-connections", "grpc-channels", "pool-size", "payload-bytes", "systems", "timeout-ms"), Set.of());
        f.noPositional();
        String jsonPath = f.string("json", null);
        List<String> only = f.has("systems") ? List.of(f.string("systems", "").split(",")) : List.of();
        CompareCommand c = new CompareCommand(f.integers("callers", List.of(1, 16, 64, 256), 1, 4096),
                f.integer("seconds", 5, 1, 600), f.integer("warmup-seconds", 2, 0, 600),
                f.integer("tidewire-connections", 4, 1, 1024), f.integers("grpc-channels", List.of(1, 4), 1, 64),
                f.integer("pool-size", 8, 1, 4096), f.integer("payload-bytes", 100, 0, 1 << 20),
                Duration.ofMillis(f.integer("timeout-ms", 5000, 1, 600_000)), only,
                jsonPath == null ? null : Path.of(jsonPath));
        List<String> known = c.systems().stream().map(SystemUnderTest::name).toList();
        for (String s : only) {
            if (!known.contains(s)) {
                throw new UsageException("--systems: unknown system '" + s + "'; known: " + String.join(",", known));
            }
        }
        return c;
    }

    /** Every system, in the order they run. */
    List<SystemUnderTest> systems() {
        List<SystemUnderTest> s = new ArrayList<>();
        s.add(new SystemUnderTest("tidewire-blocking", TIDEWIRE, false,
                "Tidewire client.call, C caller threads, maxConnections " + tidewireConnections,
                c -> c.tidewire(false, false)));
        s.add(new SystemUnderTest("tidewire-async", TIDEWIRE, true,
                "Tidewire client.callAsync, C outstanding, direct callback executor, maxConnections "
                        + tidewireConnections, c -> c.tidewire(true, false)));
        s.add(new SystemUnderTest("tidewire-blocking-raw", TIDEWIRE, false,
                "Tidewire client.callRaw (JSON as bytes, no Jackson, like the peers), C caller threads,"
                        + " maxConnections " + tidewireConnections, c -> c.tidewire(false, true)));
        s.add(new SystemUnderTest("tidewire-async-raw", TIDEWIRE, true,
                "Tidewire client.callRawAsync (JSON as bytes, no Jackson, like the peers), C outstanding,"
                        + " direct callback executor, maxConnections " + tidewireConnections, c -> c.tidewire(true, true)));
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-blocking-" + n + "ch", "grpc", false,
                    "gRPC blockingUnaryCall, C caller threads, " + n + " channel(s), default executors",
                    c -> c.grpc(n, false)));
        }
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-async-default-" + n + "ch", "grpc", true,
                    "gRPC asyncUnaryCall, C outstanding, " + n + " channel(s), default executors",
                    c -> c.grpc(n, false)));
        }
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-async-direct-" + n + "ch", "grpc", true,
                    "gRPC asyncUnaryCall, C outstanding, " + n + " channel(s), directExecutor on client and server",
                    c -> c.grpc(n, true)));
        }
        s.add(new SystemUnderTest("exclusive-pool", "pool", false,
                "commons-pool2 GenericObjectPool of " + poolSize + " blocking sockets, one round trip per lease,"
                        + " C caller threads", CompareCommand::exclusivePool));
        if (only.isEmpty()) {
            return s;
        }
        return s.stream().filter(x -> only.contains(x.name())).toList();
    }

    private Started tidewire(boolean async, boolean raw) {
        TidewireServer server = TidewireServer.builder().port(0).build().start();
        TidewireClient client;
        try {
            TidewireClient.Builder b = TidewireClient.builder()
                    .address(server.address().getAddress().getHostAddress() + ":" + server.port())
                    .maxConnections(tidewireConnections).requestTimeout(timeout);
            if (async) {
                b.callbackExecutor(Runnable::run);
            }
            client = b.build();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return new Started() {
            @Override
            public BlockingTarget blocking(int c) {
                return raw ? TidewireTargets.blockingRaw(client, "echo", payloadBytes, c)
                        : TidewireTargets.blocking(client, "echo", payloadBytes, c);
            }

            @Override
            public AsyncTarget async(int c) {
                return raw ? TidewireTargets.asyncRaw(client, "echo", payloadBytes, c)
                        : TidewireTargets.async(client, "echo", payloadBytes, c);
            }

            @Override
            public void close() {
                try {
                    client.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    private Started grpc(int channels, boolean direct) {
        GrpcEcho g = GrpcEcho.start(channels, direct, timeout);
        return new Started() {
            @Override
            public BlockingTarget blocking(int c) {
                return g.blocking(c, payloadBytes);
            }

            @Override
            public AsyncTarget async(int c) {
                return g.async(c, payloadBytes);
            }

            @Override
            public void close() {
                g.close();
            }
        };
    }

    private Started exclusivePool() {
        TidewireServer server = TidewireServer.builder().port(0).build().start();
        ExclusivePool pool = new ExclusivePool(server.address(), poolSize, timeout);
        return new Started() {
            @Override
            public BlockingTarget blocking(int c) {
                return pool.target("echo", c, payloadBytes);
            }

            @Override
            public AsyncTarget async(int c) {
                throw new UnsupportedOperationException("the exclusive pool is blocking only");
            }

            @Override
            public void close() {
                try {
                    pool.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    int run(PrintStream out, PrintStream err, boolean live) {
        List<SystemUnderTest> systems = systems();
        ObjectNode report = JsonNodeFactory.instance.objectNode();
        report.put("command", "compare");
        report.set("config", config());
        report.set("machine", Machine.json());
        ArrayNode sys = report.putArray("systems");
        ArrayNode results = report.putArray("results");
        ArrayNode leftovers = report.putArray("leftoverThreads");
        out.printf("tidewire compare: echo, ~%d-byte bodies, callers %s, %d s warm-up + %d s per cell, %d systems%n",
                payloadBytes, callers, warmupSeconds, seconds, systems.size());
        out.println("machine: " + Machine.describe());
        List<String> before = Machine.threads(Machine::benchmarkThread);
        if (!before.isEmpty()) {
            out.println("note: benchmark-like threads were already running: " + before);
        }
        Progress progress = live ? Progress.to(out, true) : Progress.NONE;
        Map<String, Map<Integer, Result>> table = new LinkedHashMap<>();
        boolean ok = true;
        for (SystemUnderTest s : systems) {
            ObjectNode so = sys.addObject();
            so.put("name", s.name());
            so.put("family", s.family());
            so.put("api", s.async() ? "async" : "blocking");
            so.put("description", s.description());
            out.printf("%n%s: %s%n", s.name(), s.description());
            Map<Integer, Result> row = new LinkedHashMap<>();
            table.put(s.name(), row);
            try (Started started = s.starter().apply(this)) {
                prime(s, started);
                for (int c : callers) {
                    String label = String.format("%s C=%d", s.name(), c);
                    Duration warm = Duration.ofSeconds(warmupSeconds);
                    Duration measure = Duration.ofSeconds(seconds);
                    Result r = s.async()
                            ? Runner.closedAsync(label, started.async(c), c, warm, measure, timeout, progress)
                            : Runner.closedBlocking(label, started.blocking(c), c, warm, measure, timeout, progress);
                    row.put(c, r);
                    out.printf("   C=%-4d %,10.0f calls/s   %s   errors %s%n", c, r.throughput(), r.latencyLine(),
                            r.errorLine());
                    ObjectNode o = results.addObject();
                    o.put("system", s.name());
                    o.put("family", s.family());
                    o.put("api", s.async() ? "async" : "blocking");
                    o.put("callers", c);
                    o.setAll(r.toJson());
                    // a peer's errors are a finding, reported in the table; Tidewire's fail the run
                    ok &= (r.errorCount() == 0 || !s.family().equals(TIDEWIRE)) && r.unfinished() == 0 && r.calls() > 0;
                    List<String> callersLeft = Machine.awaitThreadsGone(n -> n.startsWith("bench-"), Duration.ofSeconds(5));
                    if (!callersLeft.isEmpty()) {
                        out.println("   WARNING: driver threads still running after the cell: " + callersLeft);
                        callersLeft.forEach(leftovers::add);
                        ok = false;
                    }
                }
            } catch (RuntimeException e) {
                err.printf("error: %s failed: %s: %s%n", s.name(), e.getClass().getSimpleName(), e.getMessage());
                ok = false;
            }
            List<String> left = Machine.awaitThreadsGone(Machine::benchmarkThread, Duration.ofSeconds(10));
            if (!left.isEmpty()) {
                out.println("   WARNING: threads still running 10 s after shutting " + s.name() + " down: " + left);
                left.forEach(leftovers::add);
                ok = false;
            }
        }
        ((ObjectNode) report.get("machine")).put("loadAverage1mAtEnd",
                Math.round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage() * 100) / 100.0);
        report.set("ratios", ratios(table, systems));
        report.set("targets", printReport(table, systems, out));
        if (json != null) {
            try {
                Path parent = json.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                JSON.writeValue(json.toFile(), report);
                out.println("wrote " + json);
            } catch (IOException e) {
                err.println("error: cannot write " + json + ": " + e.getMessage());
                return 1;
            }
        }
        return ok ? 0 : 1;
    }

    /**
     * Opens the system's connections before the first cell: a short untimed closed loop whose
     * drain waits for the first (connecting) calls to finish, so a cold connect is never measured.
     */
    private void prime(SystemUnderTest s, Started started) {
        int c = PRIME_CALLERS;
        Duration window = Duration.ofMillis(100);
        if (s.async()) {
            Runner.closedAsync("prime", started.async(c), c, Duration.ZERO, window, timeout, Progress.NONE);
        } else {
            Runner.closedBlocking("prime", started.blocking(c), c, Duration.ZERO, window, timeout, Progress.NONE);
        }
    }

    // ------------------------------------------------------------------ report

    private ArrayNode ratios(Map<String, Map<Integer, Result>> table, List<SystemUnderTest> systems) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (SystemUnderTest tw : systems) {
            if (!tw.family().equals(TIDEWIRE)) {
                continue;
            }
            for (SystemUnderTest peer : systems) {
                if (peer.family().equals(TIDEWIRE)) {
                    continue;
                }
                for (int c : callers) {
                    Result t = table.get(tw.name()).get(c);
                    Result p = table.get(peer.name()).get(c);
                    if (t == null || p == null) {
                        continue;
                    }
                    ObjectNode o = a.addObject();
                    o.put("callers", c);
                    o.put("tidewire", tw.name());
                    o.put("peer", peer.name());
                    o.put("throughputRatio", round2(ratio(t.throughput(), p.throughput())));
                    o.put("p99Ratio", round2(ratio(t.ms(99), p.ms(99))));
                }
            }
        }
        return a;
    }

    /** Prints the results table, the ratio table and the targets check; returns the targets as JSON. */
    private ArrayNode printReport(Map<String, Map<Integer, Result>> table, List<SystemUnderTest> systems,
            PrintStream out) {
        out.printf("%nresults (throughput in calls/s, latency in ms)%n");
        out.printf("%-5s %-24s %12s %9s %9s %9s %9s %8s%n", "C", "system", "calls/s", "p50", "p99", "p99.9", "max",
                "errors");
        for (int c : callers) {
            for (SystemUnderTest s : systems) {
                Result r = table.get(s.name()).get(c);
                if (r != null) {
                    out.printf("%-5d %-24s %,12.0f %9.3f %9.3f %9.3f %9.3f %8d%n", c, s.name(), r.throughput(),
                            r.ms(50), r.ms(99), r.ms(99.9), r.maxMs(), r.errorCount());
                }
            }
        }
        List<SystemUnderTest> tws = systems.stream().filter(s -> s.family().equals(TIDEWIRE)).toList();
        List<SystemUnderTest> peers = systems.stream().filter(s -> !s.family().equals(TIDEWIRE)).toList();
        if (!tws.isEmpty() && !peers.isEmpty()) {
            out.printf("%nTidewire / peer: throughput ratio (above 1: Tidewire faster) and p99 ratio (below 1:"
                    + " Tidewire's p99 lower)%n");
            StringBuilder head = new StringBuilder(String.format("%-5s %-24s", "C", "peer"));
            for (SystemUnderTest t : tws) {
                head.append(String.format(" %22s", t.name() + " thr"));
            }
            for (SystemUnderTest t : tws) {
                head.append(String.format(" %22s", t.name() + " p99"));
            }
            out.println(head);
            for (int c : callers) {
                for (SystemUnderTest p : peers) {
                    Result pr = table.get(p.name()).get(c);
                    if (pr == null) {
                        continue;
                    }
                    StringBuilder row = new StringBuilder(String.format("%-5d %-24s", c, p.name()));
                    for (SystemUnderTest t : tws) {
                        Result tr = table.get(t.name()).get(c);
                        row.append(String.format(" %21.2fx", tr == null ? Double.NaN : ratio(tr.throughput(), pr.throughput())));
                    }
                    for (SystemUnderTest t : tws) {
                        Result tr = table.get(t.name()).get(c);
                        row.append(String.format(" %21.2fx", tr == null ? Double.NaN : ratio(tr.ms(99), pr.ms(99))));
                    }
                    out.println(row);
                }
            }
        }
        return targets(table, systems, out);
    }

    /**
     * The goals at C = 64 and 256, for each Tidewire API against: gRPC's best configuration (the
     * one with the highest throughput at that C), gRPC's default (async stub, default executors,
     * one channel), and the exclusive pool; and no second-long stall in Tidewire's p99.9 or max.
     */
    private ArrayNode targets(Map<String, Map<Integer, Result>> table, List<SystemUnderTest> systems, PrintStream out) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        boolean header = false;
        for (int c : callers) {
            if (c != 64 && c != 256) {
                continue;
            }
            String grpcBest = best(table, systems, "grpc", c);
            String grpcDefault = table.containsKey("grpc-async-default-1ch") ? "grpc-async-default-1ch"
                    : best(table, systems.stream().filter(s -> s.name().startsWith("grpc-async-default")).toList(), "grpc", c);
            String pool = best(table, systems, "pool", c);
            for (SystemUnderTest s : systems) {
                Result t = s.family().equals(TIDEWIRE) ? table.get(s.name()).get(c) : null;
                if (t == null) {
                    continue;
                }
                String tw = s.name();
                if (!header) {
                    out.printf("%ntargets at C = 64 and 256%n");
                    header = true;
                }
                if (grpcBest != null) {
                    Result g = table.get(grpcBest).get(c);
                    check(a, out, c, "throughput >= 2x gRPC best", tw, grpcBest, ratio(t.throughput(), g.throughput()), 2, true);
                    check(a, out, c, "p99 <= 0.5x gRPC best", tw, grpcBest, ratio(t.ms(99), g.ms(99)), 0.5, false);
                }
                if (grpcDefault != null && table.get(grpcDefault).get(c) != null) {
                    Result g = table.get(grpcDefault).get(c);
                    check(a, out, c, "throughput >= 4x gRPC default", tw, grpcDefault,
                            ratio(t.throughput(), g.throughput()), 4, true);
                }
                if (pool != null) {
                    Result p = table.get(pool).get(c);
                    check(a, out, c, "throughput >= 2x exclusive pool", tw, pool, ratio(t.throughput(), p.throughput()), 2, true);
                }
                double worstMs = Math.max(t.ms(99.9), t.maxMs());
                ObjectNode o = a.addObject();
                o.put("callers", c);
                o.put("check", "no second-long stall (p99.9 and max < 1000 ms)");
                o.put("tidewire", tw);
                o.put("p999Ms", t.ms(99.9));
                o.put("maxMs", t.maxMs());
                o.put("met", worstMs < 1000);
                out.printf("   C=%-4d %-33s %-18s    p99.9 %.1f ms, max %.1f ms  %s%n", c, "no second-long stall", tw,
                        t.ms(99.9), t.maxMs(), worstMs < 1000 ? "met" : "NOT met");
            }
        }
        return a;
    }

    private static void check(ArrayNode a, PrintStream out, int c, String what, String tw, String peer, double value,
            double goal, boolean atLeast) {
        boolean met = atLeast ? value >= goal : value <= goal;
        ObjectNode o = a.addObject();
        o.put("callers", c);
        o.put("check", what);
        o.put("tidewire", tw);
        o.put("peer", peer);
        o.put("value", round2(value));
        o.put("met", met);
        out.printf("   C=%-4d %-33s %-18s vs %-23s %6.2fx  %s%n", c, what, tw, peer, value, met ? "met" : "NOT met");
    }

    private static String best(Map<String, Map<Integer, Result>> table, List<SystemUnderTest> systems, String family,
            int c) {
        String best = null;
        double thr = -1;
        for (SystemUnderTest s : systems) {
            Result r = table.getOrDefault(s.name(), Map.of()).get(c);
            if (s.family().equals(family) && r != null && r.throughput() > thr) {
                thr = r.throughput();
                best = s.name();
            }
        }
        return best;
    }

    private static double ratio(double a, double b) {
        return b == 0 ? Double.NaN : a / b;
    }

    private static double round2(double v) {
        return Double.isNaN(v) ? v : Math.round(v * 100) / 100.0;
    }

    private ObjectNode config() {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        callers.forEach(c.putArray("callers")::add);
        c.put("seconds", seconds);
        c.put("warmupSeconds", warmupSeconds);
        c.put("payloadBytes", payloadBytes);
        c.put("tidewireConnections", tidewireConnections);
        grpcChannels.forEach(c.putArray("grpcChannels")::add);
        c.put("poolSize", poolSize);
        c.put("timeoutMs", timeout.toMillis());
        return c;
    }
}
