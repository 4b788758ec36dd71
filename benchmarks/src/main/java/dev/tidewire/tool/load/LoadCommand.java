package dev.tidewire.tool.load;

import dev.tidewire.tool.CommandHelp;
import dev.tidewire.tool.MetricsEndpoint;
import dev.tidewire.tool.MetricsFlags;
import dev.tidewire.tool.TlsFlags;

import dev.tidewire.tool.UsageException;

import dev.tidewire.tool.Args;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.TidewireException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.server.TidewireServer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code load}: drives a Tidewire server (at an address, or an embedded reference server) with
 * the {@link TidewireClient} and reports throughput, latency percentiles and errors.
 *
 * <ul>
 *   <li>closed loop ({@code --callers C}): C caller threads ({@code --api blocking}) or C calls
 *       kept outstanding ({@code --api async}, direct callback executor);</li>
 *   <li>open loop ({@code --rate R}, or several with {@code --rates}): R calls per second on a
 *       schedule through {@code callAsync}, latency from the intended send time;</li>
 *   <li>matrix ({@code --matrix}): the closed loop for every maxConnections in {@code
 *       --connections} and every C in {@code --callers}.</li>
 * </ul>
 */
public final class LoadCommand {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** What {@code load --help} prints. */
    public static final CommandHelp HELP = CommandHelp.builder("load", "[options]",
            "Load a server through the Tidewire client: throughput, latency, errors.")
            .option("--embedded", "an embedded reference server in this JVM, on 127.0.0.1 and a free",
                    "port (the default)")
            .option("--address TARGET", "a running server instead: HOST:PORT, a list HOST:PORT,HOST:PORT,",
                    "dns:///NAME:PORT or srv:///NAME (docs/fleet.md)")
            .option("--op OP", "the operation (default echo)")
            .option("--payload-bytes B", "about B bytes of JSON per request (default 100)")
            .option("--seconds S", "measured seconds per run (default 10)")
            .option("--warmup-seconds W", "seconds before each run, measured and discarded (default 2)")
            .option("--connections K", "the client's maxConnections (default 4; --matrix: a list K1,K2,..)")
            .option("--callers C", "closed loop: C blocking caller threads, or C outstanding async calls",
                    "(default 64; a list C1,C2,.. with --matrix)")
            .option("--api blocking|async", "closed loop: call from threads, or callAsync with a direct callback",
                    "executor (default blocking)")
            .option("--rate R", "open loop: R calls/s on a fixed schedule through callAsync, each",
                    "call's latency from its scheduled send time (default: closed loop)")
            .option("--rates R1,R2,..", "the open loop at each rate in turn")
            .option("--matrix", "the closed loop for every --connections K with every --callers C")
            .option("--timeout-ms T", "each call's deadline (default " + DEFAULT_TIMEOUT.toMillis() + ")")
            .option("--max-pending N", "the client's maxPendingCalls (default "
                    + TidewireClient.Builder.DEFAULT_MAX_PENDING_CALLS + ")")
            .option("--json FILE", "also write the configuration, the machine and every run as JSON")
            .option("--metrics-port M", "the client's and the JVM's meters at http://H:M/metrics for",
                    "Prometheus while the runs last (default: no endpoint; the docs",
                    "use " + MetricsFlags.CLIENT_PORT + ", beside serve's " + MetricsFlags.SERVE_PORT + ")")
            .option("--metrics-host H", "the endpoint's address (default 127.0.0.1)")
            .option("--metrics-histogram on|off", "a percentile histogram on the request timer (default on)")
            .option("--metrics-slo 5ms,10ms,..", "exact buckets on the request timer (default none); the three",
                    "above need --metrics-port")
            .option("--metadata K=V[,K=V..]", "this metadata on every call (default none)")
            .option("--trace", "Micrometer Tracing (OpenTelemetry bridge, every call sampled, spans",
                    "counted) on the client and the embedded server")
            .option("--no-metadata-server", "the embedded server announces no metadata (plain REQUEST frames)")
            .option("--tls-keystore P12", "TLS: the embedded server's PKCS12 key store, which the client also",
                    "presents for mutual TLS (default: plain TCP)")
            .option("--tls-truststore P12", "TLS: the client trusts the certificates this PKCS12 store signed")
            .option("--tls-password PW", "the password of the stores (needed with either)")
            .option("--tls-client-auth", "mutual TLS: the embedded server requires a client certificate")
            .note("Each run prints a progress line a second (warm-up 1 s.., then 1 s..S s), then throughput,",
                    "latency (p50..max, and min, mean, stddev over every call of the window and its drain)",
                    "and errors. The open loop's schedule line says kept up only when the sender's lag p99",
                    "is within max(1 ms, 1/R) and the server completed >= 95 % of the calls sent; otherwise",
                    "which side fell behind (docs/benchmarks.md, 2.1). Exits 1 when a call failed.")
            .example("load --embedded --seconds 5 --callers 64")
            .example("load --address 127.0.0.1:7000 --rates 1000,5000,10000 --json open.json")
            .example("load --matrix --connections 1,4,8 --callers 16,64 --metrics-port " + MetricsFlags.CLIENT_PORT)
            .build();

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private enum Mode { CLOSED, OPEN, MATRIX }

    private final String address;
    private final String op;
    private final int payloadBytes;
    private final int seconds;
    private final int warmupSeconds;
    /** Below this warm-up a TLS run is still measuring the JIT (docs/benchmarks.md, section 9.6). */
    static final int TLS_WARMUP_SECONDS = 15;
    private final List<Integer> connections;
    private final List<Integer> callers;
    private final List<Integer> rates;
    private final boolean async;
    private final Mode mode;
    private final Duration timeout;
    private final Path json;
    private int maxPendingCalls = TidewireClient.Builder.DEFAULT_MAX_PENDING_CALLS; // set by parse
    private TlsFlags tls;           // set by parse
    private MetricsFlags metrics = new MetricsFlags(MetricsFlags.NO_METRICS, false, List.of()); // set by parse
    private InetAddress metricsHost = InetAddress.getLoopbackAddress();                         // set by parse
    private MetricsEndpoint endpoint; // during run(), with --metrics-port
    private CallFlags calls;        // set by parse

    private LoadCommand(String address, String op, int payloadBytes, int seconds, int warmupSeconds,
            List<Integer> connections, List<Integer> callers, List<Integer> rates, boolean async, Mode mode,
            Duration timeout, Path json) {
        this.address = address;
        this.op = op;
        this.payloadBytes = payloadBytes;
        this.seconds = seconds;
        this.warmupSeconds = warmupSeconds;
        this.connections = connections;
        this.callers = callers;
        this.rates = rates;
        this.async = async;
        this.mode = mode;
        this.timeout = timeout;
        this.json = json;
    }

    /** Parses and runs; prints a usage error and returns 2 on a bad command line. */
    public static int main(List<String> args, PrintStream out, PrintStream err, boolean live) {
        LoadCommand c;
        try {
            c = parse(args);
        } catch (UsageException e) {
            return e.report(err, HELP);
        }
        return c.run(out, err, live);
    }

    static LoadCommand parse(List<String> args) {
        Args f = Args.parse("load", args, CallFlags.with(MetricsFlags.with(TlsFlags.with(Set.of("address", "op",
                "payload-bytes", "seconds", "warmup-seconds", "connections", "callers", "rate", "rates", "api", "timeout-ms",
                "max-pending", "json", "metrics-host")))), CallFlags.switches(Set.of("embedded", "matrix", TlsFlags.CLIENT_AUTH)));
        TlsFlags tls = TlsFlags.parse(f);
        f.noPositional();
        if (f.has("address") && f.has("embedded")) {
            throw new UsageException("give --address or --embedded, not both");
        }
        String address = f.string("address", null);
        if (address != null) {
            try {
                at(TidewireClient.builder(), address);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--address: " + e.getMessage());
            }
        }
        String op = f.string("op", "echo");
        if (op.isEmpty() || op.length() > 255) {
            throw new UsageException("--op must be 1..255 characters");
        }
        String api = f.string("api", "blocking");
        if (!api.equals("blocking") && !api.equals("async")) {
            throw new UsageException("--api must be blocking or async, got '" + api + "'");
        }
        boolean matrix = f.has("matrix");
        boolean open = f.has("rate") || f.has("rates");
        if (f.has("rate") && f.has("rates")) {
            throw new UsageException("give --rate or --rates, not both");
        }
        if (open && f.has("callers")) {
            throw new UsageException("--callers (closed loop) and --rate/--rates (open loop) exclude each other");
        }
        if (open && matrix) {
            throw new UsageException("--matrix is a closed-loop mode; it does not take --rate/--rates");
        }
        if (open && f.has("api") && !api.equals("async")) {
            throw new UsageException("the open loop always uses the async API");
        }
        List<Integer> connections = f.integers("connections", List.of(4), 1, 1024);
        List<Integer> callers = f.integers("callers", List.of(64), 1, 10_000);
        List<Integer> rates = f.has("rate") ? List.of(f.integer("rate", 0, 1, 10_000_000))
                : f.integers("rates", List.of(), 1, 10_000_000);
        if (!matrix && connections.size() > 1) {
            throw new UsageException("--connections takes a list only with --matrix");
        }
        if (!matrix && callers.size() > 1) {
            throw new UsageException("--callers takes a list only with --matrix");
        }
        String jsonPath = f.string("json", null);
        if (tls.enabled() && address == null) {
            tls.serverConfig(); // an embedded TLS server needs its key store: fail now, not mid-run
        }
        LoadCommand command = new LoadCommand(address, op, f.integer("payload-bytes", 100, 0, 1 << 20),
                f.integer("seconds", 10, 1, 3600), f.integer("warmup-seconds", 2, 0, 600), connections, callers,
                rates, api.equals("async") || open, matrix ? Mode.MATRIX : open ? Mode.OPEN : Mode.CLOSED,
                Duration.ofMillis(f.integer("timeout-ms", (int) DEFAULT_TIMEOUT.toMillis(), 1, 600_000)),
                jsonPath == null ? null : Path.of(jsonPath));
        command.tls = tls;
        command.metrics = MetricsFlags.parse(f);
        if (f.has("metrics-host")) {
            if (!command.metrics.enabled()) {
                throw new UsageException("--metrics-host needs --metrics-port");
            }
            String host = f.string("metrics-host", null);
            try {
                command.metricsHost = InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                throw new UsageException("--metrics-host '" + host + "' cannot be resolved");
            }
        }
        command.calls = CallFlags.parse(f, address == null);
        command.maxPendingCalls = f.integer("max-pending", TidewireClient.Builder.DEFAULT_MAX_PENDING_CALLS, 1,
                Integer.MAX_VALUE);
        return command;
    }

    int run(PrintStream out, PrintStream err, boolean live) {
        if (metrics.enabled()) {
            try {
                endpoint = MetricsEndpoint.start(metricsHost, metrics.port());
            } catch (UncheckedIOException e) {
                err.println("error: " + e.getMessage());
                return 1;
            }
        }
        try {
            return runWithEndpoint(out, err, live);
        } finally {
            if (endpoint != null) {
                endpoint.close();
                endpoint = null;
            }
        }
    }

    private int runWithEndpoint(PrintStream out, PrintStream err, boolean live) {
        TidewireServer server = null;
        String target = address;
        if (address == null) {
            server = calls.applyTo(tls.applyTo(TidewireServer.builder().port(0))).build().start();
            target = server.address().getAddress().getHostAddress() + ":" + server.port();
        }
        ObjectNode report = JsonNodeFactory.instance.objectNode();
        report.put("command", "load");
        report.put("mode", mode.name().toLowerCase(java.util.Locale.ROOT));
        report.set("config", config(target));
        report.set("machine", Machine.json());
        ArrayNode runs = report.putArray("runs");
        boolean ok = true;
        try {
            out.printf("tidewire load: %s against %s%s, op %s, ~%d-byte bodies, %d s warm-up + %d s per run%n",
                    describeMode(), target, server == null ? "" : " (embedded reference server)", op, payloadBytes,
                    warmupSeconds, seconds);
            out.println("machine: " + Machine.describe());
            if (endpoint != null) {
                out.println("client metrics at " + endpoint.url() + " while the runs last (client \"load\")");
            }
            if (calls.summary() != null) {
                out.println(calls.summary());
            }
            if (tls.enabled() && warmupSeconds < TLS_WARMUP_SECONDS) {
                out.printf("note: TLS warms up slowly (the JIT compiles JSSE's AES-GCM path for ~10 s on 2 cores);"
                        + " with --warmup-seconds %d the figures understate TLS. Use --warmup-seconds %d or more.%n",
                        warmupSeconds, TLS_WARMUP_SECONDS);
            }
            Progress progress = Progress.to(out, live);
            switch (mode) {
                case CLOSED -> ok = closed(target, connections.get(0), callers.get(0), progress, out, runs);
                case MATRIX -> {
                    for (int k : connections) {
                        for (int c : callers) {
                            ok &= closed(target, k, c, progress, out, runs);
                        }
                    }
                    printMatrix(runs, out);
                }
                case OPEN -> {
                    for (int rate : rates) {
                        ok &= open(target, connections.get(0), rate, progress, out, runs);
                    }
                }
            }
        } catch (TidewireException | IllegalArgumentException e) {
            err.println("error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            ok = false;
        } finally {
            if (server != null) {
                server.close();
            }
            calls.finish(report, out);
        }
        ((ObjectNode) report.get("machine")).put("loadAverage1mAtEnd",
                Math.round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage() * 100) / 100.0);
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

    private boolean closed(String target, int k, int c, Progress progress, PrintStream out, ArrayNode runs) {
        String label = String.format("K=%d C=%d", k, c);
        out.printf("%n%s: %d %s over maxConnections %d%n", label, c,
                async ? "outstanding async calls" : "blocking caller threads", k);
        Result r;
        try (TidewireClient client = client(target, k)) {
            r = async
                    ? Runner.closedAsync(label, TidewireTargets.async(client, op, payloadBytes, c, calls.options()), c,
                            Duration.ofSeconds(warmupSeconds), Duration.ofSeconds(seconds), timeout, progress)
                    : Runner.closedBlocking(label, TidewireTargets.blocking(client, op, payloadBytes, c, calls.options()), c,
                            Duration.ofSeconds(warmupSeconds), Duration.ofSeconds(seconds), timeout, progress);
        }
        print(r, out);
        ObjectNode o = runs.addObject();
        o.put("api", async ? "async" : "blocking");
        o.put("connections", k);
        o.put("callers", c);
        o.setAll(r.toJson());
        return r.errorCount() == 0 && r.unfinished() == 0;
    }

    private boolean open(String target, int k, int rate, Progress progress, PrintStream out, ArrayNode runs) {
        String label = String.format("R=%,d/s", rate);
        out.printf("%n%s: open loop, %,d calls/s offered over maxConnections %d%n", label, rate, k);
        Result r;
        try (TidewireClient client = client(target, k)) {
            r = Runner.open(label, TidewireTargets.async(client, op, payloadBytes, 1, calls.options()), rate,
                    Duration.ofSeconds(warmupSeconds), Duration.ofSeconds(seconds), timeout, progress);
        }
        print(r, out);
        OpenLoopVerdict v = r.verdict();
        // one clause a line: the verdict, then the other side's figures, then the note on latencies
        out.printf("   schedule    %s%s%n", v.keptUp() ? "" : "NOT KEPT UP: ",
                v.text().replace("; ", System.lineSeparator() + "               "));
        ObjectNode o = runs.addObject();
        o.put("api", "async");
        o.put("connections", k);
        o.put("rate", rate);
        o.setAll(r.toJson());
        return r.errorCount() == 0 && r.unfinished() == 0;
    }

    /**
     * {@code --address} of one server ({@code host:port}), or of a fleet: a list
     * ({@code h:p,h:p}) or a {@code dns:///} or {@code srv:///} target (docs/fleet.md).
     */
    static TidewireClient.Builder at(TidewireClient.Builder b, String address) {
        return address.contains(",") || address.contains("://") ? b.target(address) : b.address(address);
    }

    private TidewireClient client(String target, int k) {
        TidewireClient.Builder b = at(TidewireClient.builder(), target).maxConnections(k).requestTimeout(timeout)
                .maxPendingCalls(maxPendingCalls);
        if (endpoint != null) {
            metrics.applyTo(b.name("load"), endpoint.registry()); // one run's client at a time: one series each
        }
        if (async) {
            b.callbackExecutor(Runnable::run); // completions run on the connection's reader thread
        }
        return calls.applyTo(tls.applyTo(b)).build();
    }

    private static void print(Result r, PrintStream out) {
        out.printf("   throughput  %,.0f calls/s (%,d calls in %.2f s)%n", r.throughput(), r.calls(),
                r.windowNanos() / 1e9);
        out.printf("   latency     %s%n", r.latencyLine());
        out.printf("               %s%n", r.spreadLine());
        out.printf("   errors      %s%n", r.errorLine());
        if (r.errorCount() > 0) {
            out.printf("   ok latency  %s%n", r.okLatencyLine());
        }
        if (r.unfinished() > 0) {
            out.printf("   UNFINISHED  %,d calls had not ended when the run stopped waiting%n", r.unfinished());
        }
    }

    private void printMatrix(ArrayNode runs, PrintStream out) {
        out.printf("%nthroughput (calls/s) by maxConnections (rows) and callers (columns)%n");
        StringBuilder head = new StringBuilder(String.format("%8s", "K \\ C"));
        for (int c : callers) {
            head.append(String.format(" %12d", c));
        }
        out.println(head);
        for (int k : connections) {
            StringBuilder row = new StringBuilder(String.format("%8d", k));
            for (int c : callers) {
                double thr = 0;
                for (var run : runs) {
                    if (run.path("connections").asInt() == k && run.path("callers").asInt() == c) {
                        thr = run.path("throughput").asDouble();
                    }
                }
                row.append(String.format(" %,12.0f", thr));
            }
            out.println(row);
        }
    }

    private String describeMode() {
        return switch (mode) {
            case CLOSED -> String.format("closed loop, %d %s, maxConnections %d", callers.get(0),
                    async ? "outstanding async calls" : "blocking callers", connections.get(0));
            case MATRIX -> String.format("closed-loop matrix (%s), maxConnections %s x callers %s",
                    async ? "async" : "blocking", connections, callers);
            case OPEN -> String.format("open loop at %s calls/s, maxConnections %d", rates, connections.get(0));
        };
    }

    private ObjectNode config(String target) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("address", target);
        c.put("embedded", address == null);
        c.put("op", op);
        c.put("payloadBytes", payloadBytes);
        c.put("seconds", seconds);
        c.put("warmupSeconds", warmupSeconds);
        c.put("api", async ? "async" : "blocking");
        c.put("tls", tls.enabled());
        c.put("timeoutMs", timeout.toMillis());
        c.put("maxPendingCalls", maxPendingCalls);
        if (endpoint != null) {
            c.put("metricsPort", endpoint.port());
        }
        connections.forEach(c.putArray("connections")::add);
        if (mode != Mode.OPEN) {
            callers.forEach(c.putArray("callers")::add);
        } else {
            rates.forEach(c.putArray("rates")::add);
        }
        c.put("callbackExecutor", async ? "direct" : "default");
        calls.describe(c);
        return c;
    }
}
