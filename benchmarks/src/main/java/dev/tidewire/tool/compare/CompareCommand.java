package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.tool.load.AsyncTarget;
import dev.tidewire.tool.UsageException;
import dev.tidewire.tool.load.BlockingTarget;
import dev.tidewire.tool.Args;
import dev.tidewire.tool.CommandHelp;
import dev.tidewire.tool.load.Machine;
import dev.tidewire.tool.load.Payloads;
import dev.tidewire.tool.load.Progress;
import dev.tidewire.tool.load.Result;
import dev.tidewire.tool.load.Runner;
import dev.tidewire.tool.load.TidewireTargets;
import dev.tidewire.transport.TlsConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadFactory;
import java.util.function.Function;

/**
 * {@code compare}: the same echo workload (about 100-byte bodies, closed loop with C callers)
 * through Tidewire and its peers, one after another in one run on one machine, each against its
 * own loopback server: Tidewire's blocking and async APIs (plaintext and TLS; blocking also from
 * virtual threads on JDK 21+); gRPC-java unary over Netty (blocking stub, async stub on the
 * default executor, async stub on a direct executor; 1 and 4 channels; the direct one also over
 * TLS with its bundled BoringSSL); an exclusive-lease commons-pool2 pool of blocking sockets; and,
 * where {@code redis-server} is on the PATH, Lettuce and Jedis reading a value of the same size from
 * a Redis server ({@link RedisServer}, {@link RedisPeers}). Each server runs in its own child JVM
 * ({@link ServerProcess}, as in production) unless {@code --in-process}; Redis runs as its own
 * process either way. Each system is started, measured for every C (each cell after its own
 * warm-up), and shut down completely (its threads and its server JVM gone) before the next starts.
 * TLS certificates are made with {@code keytool} by the first TLS system of a run and deleted at its end.
 *
 * <p>Each cell also reports CPU time per call over exactly its measurement window ({@link CpuMeter}):
 * of this JVM (the client, which also runs the load generator) and of the server's process. With
 * {@code --rounds N} the whole sequence runs N times, round by round (each system started afresh,
 * its server too), and every figure the report prints or checks is the median over the rounds
 * ({@link Cell}), shown with its spread.
 */
public final class CompareCommand {
    /** What {@code compare --help} prints. */
    public static final CommandHelp HELP = CommandHelp.builder("compare", "[options]",
            "The same echo load through Tidewire, gRPC-java and a socket pool, side by side.")
            .option("--callers C1,C2,..", "closed-loop caller counts, one cell each (default 1,16,64,256)")
            .option("--seconds S", "measured seconds per cell (default 5)")
            .option("--warmup-seconds W", "seconds before each cell, measured and discarded (default 2)")
            .option("--tidewire-connections K", "Tidewire's maxConnections (default 4)")
            .option("--grpc-channels N1,N2,..", "gRPC channel counts, systems for each (default 1,4)")
            .option("--pool-size N", "connections of the exclusive-lease socket pool (default 8)")
            .option("--payload-bytes B", "about B bytes of JSON per request (default 100)")
            .option("--systems NAME,..", "only these systems (default: all; a wrong name lists them)")
            .option("--timeout-ms T", "each call's deadline (default 5000)")
            .option("--rounds N", "run all systems N times, round after round (each started afresh),",
                    "and report each figure's median and spread (default 1)")
            .option("--json FILE", "also write the configuration, the machine and every cell as JSON")
            .option("--in-process", "run the servers in this JVM instead of a child JVM each")
            .option("--server-jvm-args 'ARGS'", "JVM options of the server JVMs (default: this JVM's heap and",
                    "GC options)")
            .note("Systems: Tidewire blocking and async (JSON trees, or raw bytes like the peers; plaintext",
                    "and TLS; blocking from virtual threads on JDK 21+), gRPC-java (blocking, also from",
                    "virtual threads; async on the default executor, async on a direct executor, direct also",
                    "over TLS) and an exclusive-lease socket pool. Each runs alone against its own loopback",
                    "server, in a child JVM (same java, same class path); prints a table and ratios",
                    "(docs/benchmarks.md).",
                    "Redis rows (a GET of a value as long as the echo body, from a redis-server the tool",
                    "starts from the PATH, not Tidewire's echo server; skipped with a note without one):",
                    "lettuce-async, lettuce-sync, lettuce-sync-vt (JDK 21+) and jedis-pool.",
                    "Beside throughput and latency: CPU per call over the measurement window, of this JVM",
                    "(client; it also runs the load generator) and of the server's process (n/a in-process).",
                    "Each row names its server; with --rounds N, every figure is the median of N rounds.")
            .example("compare --callers 16,64 --seconds 5 --json compare.json")
            .example("compare --systems tidewire-async,grpc-async-direct-1ch --callers 64")
            .example("compare --callers 16,64 --seconds 5 --rounds 3 --json compare.json")
            .build();

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String TIDEWIRE = "tidewire";
    /** Callers of the priming run: enough to reach every connection or channel. */
    private static final int PRIME_CALLERS = 8;
    /** How long a server JVM may take to report its port. */
    static final Duration SERVER_START_TIMEOUT = Duration.ofSeconds(60);
    static final String VTHREADS = "tidewire-blocking-vt";

    /** A started system: hands out a target per cell and shuts everything down on close. */
    interface Started extends AutoCloseable {
        BlockingTarget blocking(int callers);

        AsyncTarget async(int callers);

        /** The server's own process (for its CPU time per call); empty when it runs in this JVM. */
        default Optional<ProcessHandle> serverProcess() {
            return Optional.empty();
        }

        @Override
        void close();
    }

    /**
     * A system under test: its name, family (tidewire, grpc, pool, redis), API style, whether it runs over
     * TLS, whether its callers are virtual threads, and how to start it.
     */
    record SystemUnderTest(String name, String family, boolean async, boolean tls, boolean virtualThreads,
            String description, Function<CompareCommand, Started> starter) {
        SystemUnderTest(String name, String family, boolean async, boolean tls, String description,
                Function<CompareCommand, Started> starter) {
            this(name, family, async, tls, false, description, starter);
        }
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
    private final boolean inProcess;
    private final List<String> serverJvmArgs;
    private int rounds = 1;                     // --rounds: each system started afresh per round
    private final ThreadFactory virtualThreads; // null before JDK 21
    private String searchPath = System.getenv("PATH"); // where redis-server is looked up; tests replace it
    private Optional<Path> redisExecutable;             // looked up on first use
    private String redisVersion;                        // asked on first use
    private CompareCertificates certificates;   // made by the first TLS system, deleted by run()
    private ArrayNode issue10;                  // set by printReport
    private PrintStream out = System.out;
    private PrintStream err = System.err;

    private CompareCommand(List<Integer> callers, int seconds, int warmupSeconds, int tidewireConnections,
            List<Integer> grpcChannels, int poolSize, int payloadBytes, Duration timeout, List<String> only, Path json,
            boolean inProcess, List<String> serverJvmArgs) {
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
        this.inProcess = inProcess;
        this.serverJvmArgs = serverJvmArgs;
        this.virtualThreads = VirtualThreads.factory("bench-vcaller-").orElse(null);
    }

    /** Parses and runs; prints a usage error and returns 2 on a bad command line. */
    public static int main(List<String> args, PrintStream out, PrintStream err, boolean live) {
        CompareCommand c;
        try {
            c = parse(args);
        } catch (UsageException e) {
            return e.report(err, HELP);
        }
        return c.run(out, err, live);
    }

    static CompareCommand parse(List<String> args) {
        Args f = Args.parse("compare", args, Set.of("callers", "seconds", "warmup-seconds", "json",
                "tidewire-connections", "grpc-channels", "pool-size", "payload-bytes", "systems", "timeout-ms",
                "server-jvm-args", "rounds"), Set.of("in-process"));
        f.noPositional();
        String jsonPath = f.string("json", null);
        List<String> only = f.has("systems") ? List.of(f.string("systems", "").split(",")) : List.of();
        boolean inProcess = f.has("in-process");
        if (inProcess && f.has("server-jvm-args")) {
            throw new UsageException("--server-jvm-args applies to server JVMs; --in-process has none");
        }
        List<String> jvmArgs = f.has("server-jvm-args")
                ? Arrays.stream(f.string("server-jvm-args", "").trim().split("\\s+")).filter(a -> !a.isEmpty()).toList()
                : ServerProcess.inheritedJvmArgs();
        CompareCommand c = new CompareCommand(f.integers("callers", List.of(1, 16, 64, 256), 1, 4096),
                f.integer("seconds", 5, 1, 600), f.integer("warmup-seconds", 2, 0, 600),
                f.integer("tidewire-connections", 4, 1, 1024), f.integers("grpc-channels", List.of(1, 4), 1, 64),
                f.integer("pool-size", 8, 1, 4096), f.integer("payload-bytes", 100, 0, 1 << 20),
                Duration.ofMillis(f.integer("timeout-ms", 5000, 1, 600_000)), only,
                jsonPath == null ? null : Path.of(jsonPath), inProcess, jvmArgs);
        c.rounds = f.integer("rounds", 1, 1, 1000);
        List<String> known = c.allSystems().stream().map(SystemUnderTest::name).toList();
        for (String s : only) {
            if (!known.contains(s)) {
                throw new UsageException("--systems: unknown system '" + s + "'; known: " + String.join(",", known));
            }
        }
        return c;
    }

    /** Every system this run measures, in order: the selected ones this JVM can run. */
    List<SystemUnderTest> systems() {
        return allSystems().stream()
                .filter(x -> only.isEmpty() || only.contains(x.name()))
                .filter(x -> !x.virtualThreads() || virtualThreads != null)
                .filter(x -> !x.family().equals(RedisPeers.FAMILY) || redisExecutable().isPresent())
                .toList();
    }

    /**
     * Every system, in the order they run (the virtual-thread ones and the Redis ones even where
     * they cannot run).
     */
    List<SystemUnderTest> allSystems() {
        List<SystemUnderTest> s = new ArrayList<>();
        String k = "maxConnections " + tidewireConnections;
        s.add(new SystemUnderTest("tidewire-blocking", TIDEWIRE, false, false,
                "Tidewire client.call, C caller threads, " + k, c -> c.tidewire(false, false, false)));
        s.add(new SystemUnderTest("tidewire-async", TIDEWIRE, true, false,
                "Tidewire client.callAsync, C outstanding, direct callback executor, " + k,
                c -> c.tidewire(true, false, false)));
        s.add(new SystemUnderTest("tidewire-blocking-raw", TIDEWIRE, false, false,
                "Tidewire client.callRaw (JSON as bytes, no Jackson, like the peers), C caller threads, " + k,
                c -> c.tidewire(false, true, false)));
        s.add(new SystemUnderTest("tidewire-async-raw", TIDEWIRE, true, false,
                "Tidewire client.callRawAsync (JSON as bytes, no Jackson, like the peers), C outstanding,"
                        + " direct callback executor, " + k, c -> c.tidewire(true, true, false)));
        s.add(new SystemUnderTest(VTHREADS, TIDEWIRE, false, false, true,
                "Tidewire client.call from C virtual threads (JDK 21+), " + k, c -> c.tidewire(false, false, false)));
        s.add(new SystemUnderTest("tidewire-blocking-tls", TIDEWIRE, false, true,
                "Tidewire client.call over TLS (the transport's TLS), C caller threads, " + k,
                c -> c.tidewire(false, false, true)));
        s.add(new SystemUnderTest("tidewire-async-tls", TIDEWIRE, true, true,
                "Tidewire client.callAsync over TLS (the transport's TLS), C outstanding, direct callback executor, " + k,
                c -> c.tidewire(true, false, true)));
        s.add(new SystemUnderTest("tidewire-async-raw-tls", TIDEWIRE, true, true,
                "Tidewire client.callRawAsync over TLS (the transport's TLS; bytes, like the peers), C outstanding,"
                        + " direct callback executor, " + k, c -> c.tidewire(true, true, true)));
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-blocking-" + n + "ch", "grpc", false, false,
                    "gRPC blockingUnaryCall, C caller threads, " + n + " channel(s), default executors",
                    c -> c.grpc(n, false, false)));
        }
        // from virtual threads: over the most channels asked for (4 by default, gRPC blocking's best so far)
        int vtChannels = grpcChannels.stream().mapToInt(Integer::intValue).max().orElse(1);
        s.add(new SystemUnderTest("grpc-blocking-vt", "grpc", false, false, true,
                "gRPC blockingUnaryCall from C virtual threads (JDK 21+), " + vtChannels
                        + " channel(s), default executors", c -> c.grpc(vtChannels, false, false)));
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-async-default-" + n + "ch", "grpc", true, false,
                    "gRPC asyncUnaryCall, C outstanding, " + n + " channel(s), default executors",
                    c -> c.grpc(n, false, false)));
        }
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-async-direct-" + n + "ch", "grpc", true, false,
                    "gRPC asyncUnaryCall, C outstanding, " + n + " channel(s), directExecutor on client and server",
                    c -> c.grpc(n, true, false)));
        }
        for (int n : grpcChannels) {
            s.add(new SystemUnderTest("grpc-async-direct-" + n + "ch-tls", "grpc", true, true,
                    "gRPC asyncUnaryCall over TLS (bundled BoringSSL when it loads), C outstanding, " + n
                            + " channel(s), directExecutor on client and server", c -> c.grpc(n, true, true)));
        }
        s.add(new SystemUnderTest("exclusive-pool", "pool", false, false,
                "commons-pool2 GenericObjectPool of " + poolSize + " blocking sockets, one round trip per lease,"
                        + " C caller threads", CompareCommand::exclusivePool));
        String redis = "; server: Redis (redis-server from the PATH, single-threaded, no persistence), not"
                + " Tidewire's echo server";
        String value = "GET of a " + Payloads.bytes(0, payloadBytes).length + "-byte value (the echo body's size)";
        String lettuce = "Lettuce " + RedisPeers.lettuceVersion();
        s.add(new SystemUnderTest("lettuce-async", RedisPeers.FAMILY, true, false,
                lettuce + " async " + value + ", C outstanding on one multiplexed connection, completions on"
                        + " Lettuce's I/O thread (no executor hop)" + redis, c -> c.lettuce()));
        s.add(new SystemUnderTest("lettuce-sync", RedisPeers.FAMILY, false, false,
                lettuce + " sync " + value + " from C caller threads sharing one multiplexed connection" + redis,
                c -> c.lettuce()));
        s.add(new SystemUnderTest("lettuce-sync-vt", RedisPeers.FAMILY, false, false, true,
                lettuce + " sync " + value + " from C virtual threads (JDK 21+) sharing one multiplexed"
                        + " connection" + redis, c -> c.lettuce()));
        s.add(new SystemUnderTest("jedis-pool", RedisPeers.FAMILY, false, false,
                "Jedis " + RedisPeers.jedisVersion() + " " + value + " from C caller threads, a JedisPool of"
                        + " maxTotal = maxIdle = C (minIdle 0; one per cell, connected before it), one lease per"
                        + " call" + redis, c -> c.jedisPool()));
        return s;
    }

    /** Starts a server for {@code spec}: in a child JVM, or in this one with {@code --in-process}. */
    private EchoServers.Running server(String name, EchoServers.Spec spec) {
        if (inProcess) {
            return EchoServers.start(spec, line -> out.println("   server: " + line));
        }
        ServerProcess p = ServerProcess.start(name, spec, serverJvmArgs, SERVER_START_TIMEOUT,
                line -> out.println("   server: " + line), err::println);
        out.printf("   server: %s in a child JVM, pid %d, port %d%n", spec.describe(), p.pid(), p.port());
        return p;
    }

    private EchoServers.Spec spec(EchoServers.Kind kind, boolean direct, boolean tls) {
        return tls ? new EchoServers.Spec(kind, direct, certificates().serverKeyStore(), certificates().password())
                : new EchoServers.Spec(kind, direct, null, null);
    }

    private Started tidewire(boolean async, boolean raw, boolean tls) {
        EchoServers.Running server = server(TIDEWIRE, spec(EchoServers.Kind.TIDEWIRE, false, tls));
        TidewireClient client;
        try {
            TidewireClient.Builder b = TidewireClient.builder()
                    .address("127.0.0.1:" + server.port())
                    .maxConnections(tidewireConnections).requestTimeout(timeout);
            if (async) {
                b.callbackExecutor(Runnable::run);
            }
            if (tls) {
                b.tls(TlsConfig.builder().trustStore(certificates().trustStore(), certificates().password()).build());
            }
            client = b.build();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return new Started() {
            @Override
            public Optional<ProcessHandle> serverProcess() {
                return server.serverProcess();
            }

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

    private Started grpc(int channels, boolean direct, boolean tls) {
        EchoServers.Running server = server("grpc", spec(EchoServers.Kind.GRPC, direct, tls));
        GrpcEcho g;
        try {
            g = GrpcEcho.connect(server.port(), channels, direct, tls ? GrpcEcho.clientTls(certificates().trustStore(),
                    certificates().password(), line -> out.println("   client: " + line)) : null, timeout);
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return new Started() {
            @Override
            public Optional<ProcessHandle> serverProcess() {
                return server.serverProcess();
            }

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
                try {
                    g.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    private Started exclusivePool() {
        EchoServers.Running server = server(TIDEWIRE, spec(EchoServers.Kind.TIDEWIRE, false, false));
        ExclusivePool pool = new ExclusivePool(new InetSocketAddress("127.0.0.1", server.port()), poolSize, timeout);
        return new Started() {
            @Override
            public Optional<ProcessHandle> serverProcess() {
                return server.serverProcess();
            }

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

    /** The value the Redis rows read: the echo systems' request body, so each carries the same bytes. */
    private byte[] redisValue() {
        return Payloads.bytes(0, payloadBytes);
    }

    /** Looks redis-server up on the search path ({@code PATH}) once. */
    private Optional<Path> redisExecutable() {
        if (redisExecutable == null) {
            redisExecutable = RedisServer.find(searchPath);
        }
        return redisExecutable;
    }

    /** Replaces the {@code PATH} value redis-server is looked up in (tests). */
    void redisSearchPath(String path) {
        this.searchPath = path;
        this.redisExecutable = null;
        this.redisVersion = null;
    }

    /** What the JSON names as a system's server. */
    /** The version of the redis-server on the PATH, looked up once. */
    private String redisVersion() {
        if (redisVersion == null) {
            try {
                redisVersion = redisExecutable().map(RedisServer::version).orElse("(not found)");
            } catch (RuntimeException e) {
                redisVersion = "(version unknown: " + e.getMessage() + ")";
            }
        }
        return redisVersion;
    }


    /** One note for each reason a selected system cannot run here: no virtual threads, no redis-server. */
    private void printSkipped() {
        List<String> selected = allSystems().stream().map(SystemUnderTest::name)
                .filter(n -> only.isEmpty() || only.contains(n)).toList();
        List<String> vt = virtualThreads != null ? List.of() : allSystems().stream()
                .filter(x -> x.virtualThreads() && selected.contains(x.name())).map(SystemUnderTest::name).toList();
        if (!vt.isEmpty()) {
            out.println("note: " + String.join(", ", vt) + " skipped: " + VirtualThreads.unavailableReason());
        }
        List<String> redis = redisExecutable().isPresent() ? List.of() : allSystems().stream()
                .filter(x -> x.family().equals(RedisPeers.FAMILY) && selected.contains(x.name()))
                .map(SystemUnderTest::name).toList();
        if (!redis.isEmpty()) {
            out.println("note: the Redis rows (" + String.join(", ", redis) + ") skipped: no executable "
                    + RedisServer.EXECUTABLE + " on the PATH (install Redis, e.g. Debian's redis-server package);"
                    + " the other systems run");
        }
    }

    /** Starts redis-server from the PATH with the benchmark key set; prints what it started. */
    private RedisServer redisServer() {
        Path exe = redisExecutable().orElseThrow(() -> new IllegalStateException(RedisServer.EXECUTABLE
                + " is not on the PATH"));
        // its start-up log (version banner, a warning about overcommit for background saves, which
        // are off) is not printed; an error message carries its last lines
        RedisServer server = RedisServer.start(exe, redisValue(), RedisServer.START_TIMEOUT, line -> { });
        out.printf("   server: Redis %s (%s) in a child process, pid %d, port %d, key set to %d bytes%n",
                server.version(), exe, server.pid(), server.port(), redisValue().length);
        return server;
    }

    private Started lettuce() {
        RedisServer server = redisServer();
        RedisPeers.Lettuce lettuce;
        try {
            lettuce = RedisPeers.Lettuce.connect(server.port(), timeout);
            out.println("   client: " + lettuce.describe());
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        byte[] value = redisValue();
        return new Started() {
            @Override
            public Optional<ProcessHandle> serverProcess() {
                return Optional.of(server.process());
            }

            @Override
            public BlockingTarget blocking(int c) {
                return lettuce.sync(value);
            }

            @Override
            public AsyncTarget async(int c) {
                return lettuce.async(value);
            }

            @Override
            public void close() {
                try {
                    lettuce.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    private Started jedisPool() {
        RedisServer server = redisServer();
        RedisPeers.JedisPools pools = new RedisPeers.JedisPools(server.port(), timeout);
        out.println("   client: " + RedisPeers.JedisPools.describe());
        byte[] value = redisValue();
        return new Started() {
            @Override
            public Optional<ProcessHandle> serverProcess() {
                return Optional.of(server.process());
            }

            @Override
            public BlockingTarget blocking(int c) {
                return pools.target(c, value); // a new pool of C for this cell; the previous one is closed
            }

            @Override
            public AsyncTarget async(int c) {
                throw new UnsupportedOperationException("the Jedis pool is blocking only");
            }

            @Override
            public void close() {
                try {
                    pools.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    int run(PrintStream out, PrintStream err, boolean live) {
        this.out = out;
        this.err = err;
        try {
            return measure(systems(), live);
        } finally {
            if (certificates != null) {
                certificates.close();
                certificates = null;
            }
        }
    }

    /** The run's TLS material, made on first use (by the first TLS system) and deleted by {@link #run}. */
    private CompareCertificates certificates() {
        if (certificates == null) {
            long t0 = System.nanoTime();
            certificates = CompareCertificates.generate();
            out.printf("   TLS: CA and server certificate (EC P-256, SAN ip:127.0.0.1, dns:localhost) made with"
                    + " keytool in %.1f s, deleted at the end of the run%n", (System.nanoTime() - t0) / 1e9);
        }
        return certificates;
    }

    private int measure(List<SystemUnderTest> systems, boolean live) {
        ObjectNode report = JsonNodeFactory.instance.objectNode();
        report.put("command", "compare");
        report.set("config", config());
        report.set("machine", Machine.json());
        ArrayNode sys = report.putArray("systems");
        ArrayNode results = report.putArray("results");
        ArrayNode leftovers = report.putArray("leftoverThreads");
        out.printf("tidewire compare: echo, ~%d-byte bodies, callers %s, %d s warm-up + %d s per cell, %d systems%s%n",
                payloadBytes, callers, warmupSeconds, seconds, systems.size(),
                rounds > 1 ? ", " + rounds + " rounds (each system started afresh per round)" : "");
        out.println("machine: " + Machine.describe());
        out.println(inProcess ? "servers: in this JVM (--in-process)"
                : "servers: one child JVM per system (" + ServerProcess.javaExecutable() + ", JVM options "
                        + (serverJvmArgs.isEmpty() ? "none" : String.join(" ", serverJvmArgs)) + ")");
        out.println("cpu: " + cpuNote());
        printSkipped();
        List<String> before = Machine.threads(Machine::benchmarkThread);
        if (!before.isEmpty()) {
            out.println("note: benchmark-like threads were already running: " + before);
        }
        Progress progress = live ? Progress.to(out, true) : Progress.NONE;
        Map<String, Map<Integer, Cell>> table = new LinkedHashMap<>();
        for (SystemUnderTest s : systems) {
            ObjectNode so = sys.addObject();
            so.put("name", s.name());
            so.put("family", s.family());
            so.put("api", s.async() ? "async" : "blocking");
            so.put("tls", s.tls());
            so.put("virtualThreads", s.virtualThreads());
            so.put("server", server(s));
            so.put("description", s.description());
            table.put(s.name(), new LinkedHashMap<>());
        }
        boolean ok = true;
        for (int round = 1; round <= rounds; round++) {
            if (rounds > 1) {
                out.printf("%n=== round %d of %d ===%n", round, rounds);
            }
            for (SystemUnderTest s : systems) {
                ok &= measure(s, round, table.get(s.name()), progress, leftovers);
            }
        }
        for (SystemUnderTest s : systems) {
            for (int c : callers) {
                Cell cell = table.get(s.name()).get(c);
                if (cell == null) {
                    continue;
                }
                ObjectNode o = results.addObject();
                o.put("system", s.name());
                o.put("family", s.family());
                o.put("api", s.async() ? "async" : "blocking");
                o.put("server", server(s));
                o.put("callers", c);
                o.setAll(cell.toJson());
            }
        }
        ((ObjectNode) report.get("machine")).put("loadAverage1mAtEnd",
                Math.round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage() * 100) / 100.0);
        report.set("ratios", ratios(table, systems));
        report.set("targets", printReport(table, systems, out));
        report.set("issue10Ratios", issue10);
        report.set("issue15Targets", Issue15Targets.check(table, systems, callers, rounds, out));
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
     * One round of one system: starts it (and its server), primes it, measures every C (the CPU
     * time of this JVM and of the server's process sampled at the window's start and end), and
     * shuts it down. Adds each cell's round to {@code row}; false if anything failed.
     */
    private boolean measure(SystemUnderTest s, int round, Map<Integer, Cell> row, Progress progress,
            ArrayNode leftovers) {
        boolean ok = true;
        out.printf("%n%s%s: %s%n", rounds > 1 ? "[round " + round + "/" + rounds + "] " : "", s.name(), s.description());
        try (Started started = s.starter().apply(this)) {
            prime(s, started);
            for (int c : callers) {
                String label = String.format("%s C=%d", s.name(), c) + (rounds > 1 ? " round " + round : "");
                Duration warm = Duration.ofSeconds(warmupSeconds);
                Duration measure = Duration.ofSeconds(seconds);
                CpuMeter cpu = new CpuMeter(started.serverProcess());
                Result r = s.async()
                        ? Runner.closedAsync(label, started.async(c), c, warm, measure, timeout, progress, cpu)
                        : s.virtualThreads()
                        ? Runner.closedBlocking(label, started.blocking(c), c, warm, measure, timeout, progress,
                                virtualThreads, cpu)
                        : Runner.closedBlocking(label, started.blocking(c), c, warm, measure, timeout, progress, cpu);
                Cell.Round cr = new Cell.Round(round, r, cpu.clientNanos(), cpu.serverNanos());
                row.computeIfAbsent(c, k -> new Cell()).add(cr);
                out.printf("   C=%-4d %,10.0f calls/s   %s   errors %s   cpu/call: client %s, server %s%n", c,
                        r.throughput(), r.latencyLine(), r.errorLine(), us(cr.clientUsPerCall()),
                        us(cr.serverUsPerCall()));
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
        return ok;
    }

    /** The server a system runs against, as the report names it ({@link ServerKind}). */
    String server(SystemUnderTest s) {
        String label = ServerKind.of(s.family()).label(inProcess);
        return s.family().equals(RedisPeers.FAMILY) ? label + " " + redisVersion() + " (a child process)" : label;
    }

    /** What the CPU figures are, printed once at the start of a run and written to the JSON's config. */
    private String cpuNote() {
        return "per call completed in the measurement window (warm-up excluded), microseconds of CPU time (user +"
                + " system). client = this JVM, which also runs the tool's own load generator (callers,"
                + " histograms) for every system alike" + (inProcess ? ", and here the servers too" : "")
                + "; server = the server's process" + (inProcess ? " (n/a: the servers run in this JVM)" : "")
                + ". Read with " + CpuMeter.CLIENT_SOURCE + " and " + CpuMeter.SERVER_SOURCE + ".";
    }

    /** {@code 12.3 us}, or {@code n/a} for NaN. */
    static String us(double v) {
        return Double.isNaN(v) ? "n/a" : String.format("%.1f us", v);
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

    private ArrayNode ratios(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (SystemUnderTest tw : systems) {
            if (!tw.family().equals(TIDEWIRE)) {
                continue;
            }
            for (SystemUnderTest peer : systems) {
                if (peer.family().equals(TIDEWIRE) || peer.tls() != tw.tls()) {
                    continue; // TLS rows against TLS peers, plaintext against plaintext
                }
                for (int c : callers) {
                    Cell t = table.get(tw.name()).get(c);
                    Cell p = table.get(peer.name()).get(c);
                    if (t == null || p == null) {
                        continue;
                    }
                    ObjectNode o = a.addObject();
                    o.put("callers", c);
                    o.put("tidewire", tw.name());
                    o.put("peer", peer.name());
                    o.put("throughputRatio", round2(ratio(t.throughput(), p.throughput())));
                    o.put("p99Ratio", round2(ratio(t.ms(99), p.ms(99))));
                    Spread.put(o, "clientCpuRatio", ratio(t.clientUsPerCall(), p.clientUsPerCall()), 2);
                    Spread.put(o, "serverCpuRatio", ratio(t.serverUsPerCall(), p.serverUsPerCall()), 2);
                }
            }
        }
        return a;
    }

    /** Prints the results table, the ratio table and the targets check; returns the targets as JSON. */
    private ArrayNode printReport(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems,
            PrintStream out) {
        printResults(table, systems, out);
        for (boolean tls : new boolean[] {false, true}) {
            List<SystemUnderTest> tws = systems.stream().filter(s -> s.family().equals(TIDEWIRE) && s.tls() == tls).toList();
            List<SystemUnderTest> peers = systems.stream().filter(s -> !s.family().equals(TIDEWIRE) && s.tls() == tls).toList();
            if (!tws.isEmpty() && !peers.isEmpty()) {
                printRatios(table, tws, peers, tls, out);
            }
        }
        ArrayNode targets = targets(table, systems, out);
        issue10 = issue10Ratios(table, systems, out);
        return targets;
    }

    /**
     * The results table: per cell the server, throughput, latency, errors and CPU per call (with
     * more than one round: medians, and the relative spread of throughput and client CPU beside
     * them; then a table of each figure's min-max); then footnotes naming the servers and the CPU
     * figures.
     */
    private void printResults(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems, PrintStream out) {
        boolean many = rounds > 1;
        out.printf("%nresults%s (throughput in calls/s, latency in ms, CPU in us per call%s)%n",
                many ? ": medians of " + rounds + " rounds" : "",
                many ? "; +-: relative spread (max-min)/median" : "");
        String spr = many ? " %6s" : "%s";
        out.printf("%-5s %-26s %-7s %12s" + spr + " %9s %9s %9s %9s %8s %10s" + spr + " %10s" + spr + "%n", "C", "system",
                "server", "calls/s", many ? "+-" : "", "p50", "p99", "p99.9", "max", "errors", "client us", many ? "+-" : "",
                "server us", many ? "+-" : "");
        for (int c : callers) {
            for (SystemUnderTest s : systems) {
                Cell r = table.get(s.name()).get(c);
                if (r != null) {
                    out.printf("%-5d %-26s %-7s %,12.0f" + spr + " %9.3f %9.3f %9.3f %9.3f %8d %10s" + spr + " %10s" + spr
                            + "%n", c, s.name(), ServerKind.of(s.family()).shortLabel(inProcess), r.throughput(),
                            many ? pct(r.throughputSpread().relative()) : "", r.ms(50), r.ms(99), r.ms(99.9), r.maxMs(),
                            r.errorCount(), num(r.clientUsPerCall()), many ? pct(r.clientCpuSpread().relative()) : "",
                            num(r.serverUsPerCall()), many ? pct(r.serverCpuSpread().relative()) : "");
                }
            }
        }
        List<ServerKind> kinds = systems.stream().map(s -> ServerKind.of(s.family())).distinct().sorted().toList();
        StringBuilder legend = new StringBuilder("server:");
        for (ServerKind k : kinds) {
            legend.append(String.format(" %s = %s;", k.shortLabel(inProcess), k.label(inProcess)));
        }
        out.println(legend.substring(0, legend.length() - 1));
        if (kinds.stream().anyMatch(ServerKind::otherServer)) {
            out.println("   * another server than the echo servers: its throughput is bounded by that server (Redis: one"
                    + " thread), so client CPU per call is the fair cross-system figure for those rows");
        }
        out.println("cpu: client = this JVM's CPU time (it also runs the load generator, alike for every system),"
                + " server = the server process's" + (inProcess ? " (n/a: in this JVM; the client's figure includes it)"
                : "") + "; both over the window, per call");
        if (many) {
            out.printf("%nspread over %d rounds (min-max of each cell's rounds)%n", rounds);
            out.printf("%-5s %-26s %23s %19s %19s %17s %17s%n", "C", "system", "calls/s", "p50 ms", "p99 ms",
                    "client us/call", "server us/call");
            for (int c : callers) {
                for (SystemUnderTest s : systems) {
                    Cell r = table.get(s.name()).get(c);
                    if (r != null) {
                        out.printf("%-5d %-26s %23s %19s %19s %17s %17s%n", c, s.name(),
                                range(r.throughputSpread(), "%,.0f"), range(r.msSpread(50), "%.3f"),
                                range(r.msSpread(99), "%.3f"), range(r.clientCpuSpread(), "%.1f"),
                                range(r.serverCpuSpread(), "%.1f"));
                    }
                }
            }
        }
    }

    /** {@code 12.3}, or {@code n/a} for NaN. */
    static String num(double v) {
        return Double.isNaN(v) ? "n/a" : String.format("%.1f", v);
    }

    /** {@code 4.2%}, or {@code n/a} for NaN. */
    static String pct(double v) {
        return Double.isNaN(v) ? "n/a" : String.format("%.1f%%", v * 100);
    }

    /** {@code min-max} in {@code format}, or {@code n/a} if no round measured it. */
    static String range(Spread s, String format) {
        return s.measured() ? String.format(format, s.min()) + "-" + String.format(format, s.max()) : "n/a";
    }

    private void printRatios(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> tws,
            List<SystemUnderTest> peers, boolean tls, PrintStream out) {
        out.printf("%nTidewire / peer%s: throughput ratio (above 1: Tidewire faster) and p99 ratio (below 1:"
                + " Tidewire's p99 lower)%s%n", tls ? ", TLS" : "", rounds > 1 ? ", of the medians" : "");
        StringBuilder head = new StringBuilder(String.format("%-5s %-26s", "C", "peer"));
        for (SystemUnderTest t : tws) {
            head.append(String.format(" %26s", t.name() + " thr"));
        }
        for (SystemUnderTest t : tws) {
            head.append(String.format(" %26s", t.name() + " p99"));
        }
        out.println(head);
        for (int c : callers) {
            for (SystemUnderTest p : peers) {
                Cell pr = table.get(p.name()).get(c);
                if (pr == null) {
                    continue;
                }
                StringBuilder row = new StringBuilder(String.format("%-5d %-26s", c, p.name()));
                for (SystemUnderTest t : tws) {
                    Cell tr = table.get(t.name()).get(c);
                    row.append(String.format(" %25.2fx", tr == null ? Double.NaN : ratio(tr.throughput(), pr.throughput())));
                }
                for (SystemUnderTest t : tws) {
                    Cell tr = table.get(t.name()).get(c);
                    row.append(String.format(" %25.2fx", tr == null ? Double.NaN : ratio(tr.ms(99), pr.ms(99))));
                }
                out.println(row);
            }
        }
    }

    /**
     * Issue 10's ratios at every C, where both rows ran: TLS async / plaintext async, TLS async /
     * gRPC's best TLS configuration, blocking TLS / plaintext blocking, blocking from virtual
     * threads / async (all throughput).
     */
    private ArrayNode issue10Ratios(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems,
            PrintStream out) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        List<SystemUnderTest> grpcTls = systems.stream().filter(s -> s.family().equals("grpc") && s.tls()).toList();
        boolean header = false;
        for (int c : callers) {
            String[][] pairs = {
                {"TLS async / plaintext async", "tidewire-async-tls", "tidewire-async"},
                {"TLS async / gRPC best TLS", "tidewire-async-tls", best(table, grpcTls, "grpc", c)},
                {"blocking TLS / plaintext blocking", "tidewire-blocking-tls", "tidewire-blocking"},
                {"vthreads blocking / async", VTHREADS, "tidewire-async"},
            };
            for (String[] p : pairs) {
                Cell x = p[2] == null ? null : table.getOrDefault(p[1], Map.of()).get(c);
                Cell y = p[2] == null ? null : table.getOrDefault(p[2], Map.of()).get(c);
                if (x == null || y == null) {
                    continue;
                }
                if (!header) {
                    out.printf("%nissue 10 ratios (throughput%s)%n", rounds > 1 ? ", medians of " + rounds + " rounds" : "");
                    header = true;
                }
                double r = ratio(x.throughput(), y.throughput());
                ObjectNode o = a.addObject();
                o.put("callers", c);
                o.put("ratio", p[0]);
                o.put("numerator", p[1]);
                o.put("denominator", p[2]);
                o.put("value", round2(r));
                out.printf("   C=%-4d %-35s %-28s / %-26s %6.2fx%n", c, p[0], p[1], p[2], r);
            }
        }
        return a;
    }

    /**
     * The goals at C = 64 and 256, for each Tidewire API against: gRPC's best configuration (the
     * one with the highest throughput at that C), gRPC's default (async stub, default executors,
     * one channel), and the exclusive pool; and no second-long stall in Tidewire's p99.9 or max.
     */
    private ArrayNode targets(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems, PrintStream out) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        boolean header = false;
        for (int c : callers) {
            if (c != 64 && c != 256) {
                continue;
            }
            List<SystemUnderTest> plain = systems.stream().filter(s -> !s.tls()).toList();
            List<SystemUnderTest> tls = systems.stream().filter(SystemUnderTest::tls).toList();
            String grpcDefault = table.containsKey("grpc-async-default-1ch") ? "grpc-async-default-1ch"
                    : best(table, systems.stream().filter(s -> s.name().startsWith("grpc-async-default")).toList(), "grpc", c);
            String pool = best(table, plain, "pool", c);
            for (SystemUnderTest s : systems) {
                // a TLS row is held against gRPC's best over TLS; there is no TLS default or pool row
                String grpcBest = best(table, s.tls() ? tls : plain, "grpc", c);
                String grpcDefaultHere = s.tls() ? null : grpcDefault;
                String poolHere = s.tls() ? null : pool;
                Cell t = s.family().equals(TIDEWIRE) ? table.get(s.name()).get(c) : null;
                if (t == null) {
                    continue;
                }
                String tw = s.name();
                if (!header) {
                    out.printf("%ntargets at C = 64 and 256%s%n", rounds > 1 ? " (medians of " + rounds + " rounds)" : "");
                    header = true;
                }
                if (grpcBest != null) {
                    Cell g = table.get(grpcBest).get(c);
                    check(a, out, c, "throughput >= 2x gRPC best", tw, grpcBest, ratio(t.throughput(), g.throughput()), 2, true);
                    check(a, out, c, "p99 <= 0.5x gRPC best", tw, grpcBest, ratio(t.ms(99), g.ms(99)), 0.5, false);
                }
                if (grpcDefaultHere != null && table.get(grpcDefaultHere).get(c) != null) {
                    Cell g = table.get(grpcDefaultHere).get(c);
                    check(a, out, c, "throughput >= 4x gRPC default", tw, grpcDefaultHere,
                            ratio(t.throughput(), g.throughput()), 4, true);
                }
                if (poolHere != null) {
                    Cell p = table.get(poolHere).get(c);
                    check(a, out, c, "throughput >= 2x exclusive pool", tw, poolHere, ratio(t.throughput(), p.throughput()), 2, true);
                }
                double worstMs = Math.max(t.ms(99.9), t.maxMs());
                ObjectNode o = a.addObject();
                o.put("callers", c);
                o.put("check", "no second-long stall (p99.9 and max < 1000 ms)");
                o.put("tidewire", tw);
                o.put("p999Ms", t.ms(99.9));
                o.put("maxMs", t.maxMs());
                o.put("met", worstMs < 1000);
                out.printf("   C=%-4d %-33s %-26s    p99.9 %.1f ms, max %.1f ms  %s%n", c, "no second-long stall", tw,
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
        out.printf("   C=%-4d %-33s %-26s vs %-26s %6.2fx  %s%n", c, what, tw, peer, value, met ? "met" : "NOT met");
    }

    private static String best(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems, String family,
            int c) {
        String best = null;
        double thr = -1;
        for (SystemUnderTest s : systems) {
            Cell r = table.getOrDefault(s.name(), Map.of()).get(c);
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
        c.put("servers", inProcess ? "in-process" : "child JVM");
        c.put("rounds", rounds);
        c.put("cpu", cpuNote());
        serverJvmArgs.forEach(c.putArray("serverJvmArgs")::add);
        return c;
    }
}
