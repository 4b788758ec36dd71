package dev.tidewire.tool;

import dev.tidewire.tool.load.Progress;
import dev.tidewire.tool.load.Result;
import dev.tidewire.tool.load.Runner;
import dev.tidewire.tool.load.TidewireTargets;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.RequestTimeoutException;
import dev.tidewire.TidewireException;
import dev.tidewire.client.CallOptions;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.pool.PoolStats;
import dev.tidewire.server.TidewireServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * {@code demo}: starts a reference server in-process, replays the seed scenario (two echoes over
 * one connection, a call that times out), runs a few seconds of concurrent load and prints a
 * summary with latency percentiles, pool stats and the client's Micrometer metrics. Returns 1 if
 * the seed scenario did not behave as it should.
 */
final class DemoCommand {
    /** What {@code demo --help} prints. */
    static final CommandHelp HELP = CommandHelp.builder("demo", "[options]",
            "Try Tidewire: an embedded server, the seed scenario, a few seconds of load.")
            .option("--seconds N", "seconds of load (default 5)")
            .option("--callers C", "blocking caller threads of the load (default 32)")
            .option("--connections K", "the load client's maxConnections (default 4)")
            .option("--tls-keystore P12", "TLS: the server presents this PKCS12 key store (default: plain TCP)")
            .option("--tls-truststore P12", "TLS: the clients trust the certificates this PKCS12 store signed")
            .option("--tls-password PW", "the password of the stores (needed with either)")
            .option("--tls-client-auth", "mutual TLS: the server requires a client certificate; the clients",
                    "present --tls-keystore")
            .note("It starts a reference server on 127.0.0.1 (a free port), makes two \"echo\" calls that share",
                    "one connection and a \"sleep\" call that times out, runs the load, and prints latency",
                    "percentiles, pool stats and the client's Micrometer metrics. Exits 1 if the seed scenario",
                    "did not behave as it should.")
            .example("demo")
            .example("demo --seconds 10 --callers 64 --connections 8")
            .build();

    private static final Duration SLEEP = Duration.ofMillis(2000);
    private static final Duration SLEEP_TIMEOUT = Duration.ofMillis(500);
    private static final Duration LOAD_REQUEST_TIMEOUT = Duration.ofSeconds(2);

    private final int seconds;
    private final int callers;
    private final int connections;
    private final TlsFlags tls;

    private DemoCommand(int seconds, int callers, int connections, TlsFlags tls) {
        this.seconds = seconds;
        this.callers = callers;
        this.connections = connections;
        this.tls = tls;
    }

    /**
     * Reads {@code [--seconds N] [--callers C] [--connections K]} and the TLS flags: the embedded
     * server presents {@code --tls-keystore}, the clients trust {@code --tls-truststore}; with
     * {@code --tls-client-auth} the server requires a client certificate and the clients present
     * the same key store.
     */
    static DemoCommand parse(List<String> args) {
        Args a = Args.parse("demo", args, TlsFlags.with(Set.of("seconds", "callers", "connections")),
                Set.of(TlsFlags.CLIENT_AUTH));
        a.positional(0, "");
        TlsFlags tls = TlsFlags.parse(a);
        if (tls.enabled()) {
            tls.serverConfig(); // the embedded server needs its key store: a usage error now, not mid-demo
        }
        return new DemoCommand(a.integer("seconds", 5, 1, 3600), a.integer("callers", 32, 1, 4096),
                a.integer("connections", 4, 1, 1024), tls);
    }

    private TidewireClient.Builder client(String address) {
        return tls.applyTo(TidewireClient.builder().address(address));
    }

    /** Runs the demo, printing to {@code out}; {@code live} overwrites the progress line in place (a terminal). */
    int run(PrintStream out, boolean live) {
        out.println("Tidewire demo");
        out.println("=============");
        TidewireServer server = tls.applyTo(TidewireServer.builder().port(0)).build().start();
        try {
            String address = server.address().getAddress().getHostAddress() + ":" + server.port();
            out.println("server listening on " + address + (!tls.enabled() ? " (plain TCP)"
                    : tls.clientAuth() ? " (mutual TLS)" : " (TLS)"));
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            boolean ok = seedScenario(server, client(address), registry, out);
            TidewireClient client = client(address).maxConnections(connections)
                    .requestTimeout(LOAD_REQUEST_TIMEOUT).meterRegistry(registry).build();
            long closeStart;
            try {
                out.println();
                out.printf("3. load: %d callers making blocking \"echo\" calls of ~100 bytes for %d s over %d connection%s%n",
                        callers, seconds, connections, connections == 1 ? "" : "s");
                Result result = Runner.closedBlocking("demo", TidewireTargets.blocking(client, "echo", 100, callers),
                        callers, Duration.ZERO, Duration.ofSeconds(seconds), LOAD_REQUEST_TIMEOUT, Progress.to(out, live));
                printSummary(result, client.poolStats(), registry, out);
            } finally {
                closeStart = System.nanoTime();
                client.close();
            }
            server.shutdown(Duration.ofSeconds(5));
            out.println();
            out.printf("closed the client and the server gracefully in %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart));
            out.println("next: " + CommandHelp.TOOL + " serve --port 7000 --metrics-port " + MetricsFlags.SERVE_PORT
                    + ", then");
            out.println("      " + CommandHelp.TOOL + " call --address 127.0.0.1:7000 --op echo '{\"hello\":\"tide\"}'");
            if (!ok) {
                out.println("the seed scenario did NOT behave as expected (see above)");
            }
            return ok ? 0 : 1;
        } catch (TidewireException e) {
            out.println("error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            return 1;
        } finally {
            server.close(); // a no-op after the graceful shutdown above
        }
    }

    /** Steps 1 and 2 over a one-connection client; true if everything came out as expected. */
    private static boolean seedScenario(TidewireServer server, TidewireClient.Builder builder, MeterRegistry registry,
            PrintStream out) {
        boolean ok = true;
        try (TidewireClient client = builder.maxConnections(1)
                .meterRegistry(registry).build()) {
            out.println();
            out.println("1. seed scenario: two \"echo\" calls through a client with maxConnections(1)");
            ok &= echo(client, "rec1", "pixelpig!", out);
            ok &= echo(client, "rec2", "another pig!", out);
            long accepted = server.stats().connectionsAccepted();
            if (accepted == 1) {
                out.println("   both calls shared one connection (the server accepted 1)");
            } else {
                out.println("   UNEXPECTED: the server accepted " + accepted + " connections for two calls, not 1");
                ok = false;
            }

            out.println();
            out.printf("2. a \"sleep\" call of %d ms with a per-call timeout of %d ms%n", SLEEP.toMillis(),
                    SLEEP_TIMEOUT.toMillis());
            ObjectNode sleep = JsonNodeFactory.instance.objectNode().put("millis", SLEEP.toMillis());
            long start = System.nanoTime();
            try {
                client.call("sleep", sleep, JsonNode.class, CallOptions.timeout(SLEEP_TIMEOUT));
                out.println("   timeout: UNEXPECTED, the call returned instead of timing out");
                ok = false;
            } catch (RequestTimeoutException e) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                out.printf("   timeout: %s after %d ms: %s%n", e.getClass().getSimpleName(), ms, e.getMessage());
            }
        }
        return ok;
    }

    private static boolean echo(TidewireClient client, String label, String value, PrintStream out) {
        ObjectNode request = JsonNodeFactory.instance.objectNode().put("Uid", "pixel-1").put("Val", value);
        JsonNode reply = client.callJson("echo", request);
        out.println("   " + label + ": " + reply);
        if (!reply.equals(request)) {
            out.println("   UNEXPECTED: the reply differs from the request " + request);
            return false;
        }
        return true;
    }

    private static void printSummary(Result r, PoolStats pool, MeterRegistry registry, PrintStream out) {
        out.println();
        out.println("summary");
        out.printf("   calls       %,d in %.2f s = %,.0f calls/s%n", r.calls(), r.windowNanos() / 1e9, r.throughput());
        if (r.errorCount() == 0) {
            out.println("   errors      none");
        } else {
            StringJoiner byType = new StringJoiner(", ");
            r.errors().forEach((type, n) -> byType.add(type + " " + n));
            out.printf("   errors      %,d: %s%n", r.errorCount(), byType);
        }
        Histogram h = r.latency();
        if (h.getTotalCount() > 0) {
            out.printf("   latency     p50 %s   p90 %s   p99 %s   p99.9 %s   max %s%n",
                    ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(90)), ms(h.getValueAtPercentile(99)),
                    ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()));
        }
        out.printf("   pool        open %d, created %d, destroyed %d, idle %d, active %d, waiting %d, in flight %d,"
                + " late replies %d%n", pool.open(), pool.created(), pool.destroyed(), pool.idle(), pool.active(),
                pool.waiting(), pool.inFlight(), pool.lateResponses());
        out.println("   client metrics (Micrometer SimpleMeterRegistry)");
        Timer requests = registry.find("tidewire.requests").tags("op", "echo", "outcome", "success").timer();
        out.printf("     %-44s %s%n", "tidewire.requests{op=echo,outcome=success}", describe(requests));
        out.printf("     %-44s %s%n", "tidewire.pool.borrow", describe(registry.find("tidewire.pool.borrow").timer()));
        Counter created = registry.find("tidewire.connections.opened").counter();
        out.printf("     %-44s %s%n", "tidewire.connections.opened",
                created == null ? "not registered" : String.format("%,.0f", created.count()));
    }

    private static String describe(Timer timer) {
        if (timer == null) {
            return "not registered";
        }
        return String.format("count %,d   mean %.3f ms", timer.count(), timer.mean(TimeUnit.MILLISECONDS));
    }

    private static String ms(long nanos) {
        return String.format("%.3f ms", nanos / 1e6);
    }
}
