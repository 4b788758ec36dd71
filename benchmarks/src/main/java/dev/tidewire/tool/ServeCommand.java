package dev.tidewire.tool;

import dev.tidewire.server.Authenticator;
import dev.tidewire.server.ServerListener;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.transport.TlsConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code serve}: runs the reference {@link TidewireServer} and, optionally, a Prometheus scrape
 * endpoint ({@code GET /metrics}, a {@link MetricsEndpoint}) with the server's
 * {@link ServerMetrics} and the JVM and process meters. The request timer publishes a percentile
 * histogram unless {@code --metrics-histogram off}. With {@code --auth-token-file} it admits only
 * clients whose HELLO carries that bearer token.
 *
 * <pre>{@code
 * try (ServeCommand.Running r = new ServeCommand(InetAddress.getLoopbackAddress(), 0, 0).start()) {
 *     int port = r.port(), metricsPort = r.metricsPort();
 * }
 * }</pre>
 */
final class ServeCommand {
    /** {@link #metricsPort} when there is no metrics endpoint. */
    static final int NO_METRICS = MetricsFlags.NO_METRICS;
    /** How long a graceful shutdown lets requests in flight finish. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    /** Largest token file read: a HELLO, which must carry the token, is at most 64 KiB. */
    static final int MAX_TOKEN_FILE_BYTES = 64 * 1024;
    /** What {@code serve --help} prints. */
    static final CommandHelp HELP = CommandHelp.builder("serve", "--port N [options]",
            "Run the reference server until stopped, with optional Prometheus metrics.")
            .option("--port N", "the port to listen on (required; 0 picks a free one)")
            .option("--host H", "the address to listen on (default 127.0.0.1)")
            .option("--auth-token-file F", "admit only clients whose HELLO carries the credentials",
                    "{\"type\":\"bearer\",\"token\":T}, T being the file's text without",
                    "surrounding whitespace; others get ERROR 4 UNAUTHENTICATED. A",
                    "missing, unreadable or empty file stops serve from starting",
                    "(default: every client is admitted)")
            .option("--metrics-port M", "Prometheus/OpenMetrics text at http://H:M/metrics: server, JVM and",
                    "process meters (default: no endpoint; the docs use " + MetricsFlags.SERVE_PORT + ")")
            .option("--metrics-histogram on|off", "a percentile histogram on the request timer (default on)")
            .option("--metrics-slo 5ms,10ms,..", "exact buckets on the request timer (default none); the two",
                    "above need --metrics-port")
            .option("--tls-keystore P12", "TLS: present this PKCS12 key store (default: plain TCP)")
            .option("--tls-truststore P12", "with --tls-client-auth: the CA of the client certificates")
            .option("--tls-password PW", "the password of the stores (needed with either)")
            .option("--tls-client-auth", "mutual TLS: require a client certificate")
            .note("SIGTERM or Ctrl-C stops it gracefully: GOAWAY to every client, up to "
                    + SHUTDOWN_GRACE.toSeconds() + " s for the requests in",
                    "flight, NOT_PROCESSED for later ones.")
            .example("serve --port 7000 --metrics-port " + MetricsFlags.SERVE_PORT)
            .example("serve --port 7000 --host 0.0.0.0 --auth-token-file token.txt")
            .build();

    private final InetAddress host;
    private final int port;
    private final MetricsFlags metrics;
    private TlsConfig tls;          // set by parse; null: plain TCP
    private boolean clientAuth;
    private byte[] tokenDigest;     // SHA-256 of the required bearer token; null: every client is admitted
    private Path tokenFile;         // where it came from, for the start-up line

    /**
     * A server on {@code host:port} (0 picks a free port), with metrics on {@code metricsPort} or
     * {@link #NO_METRICS}, the request timer with a percentile histogram.
     */
    ServeCommand(InetAddress host, int port, int metricsPort) {
        this(host, port, new MetricsFlags(metricsPort, true, List.of()));
    }

    /** A server on {@code host:port}, with the metrics endpoint these flags ask for. */
    ServeCommand(InetAddress host, int port, MetricsFlags metrics) {
        this.host = host;
        this.port = port;
        this.metrics = metrics;
    }

    /**
     * Reads {@code --port N [--host H] [--auth-token-file F]}, the metrics flags
     * ({@link MetricsFlags}) and the TLS flags.
     */
    static ServeCommand parse(List<String> args) {
        Args a = Args.parse("serve", args, MetricsFlags.with(TlsFlags.with(Set.of("port", "host", "auth-token-file"))),
                Set.of(TlsFlags.CLIENT_AUTH));
        TlsFlags tls = TlsFlags.parse(a);
        a.positional(0, "");
        a.required("port");
        int port = a.integer("port", 0, 0, 65535);
        MetricsFlags metrics = MetricsFlags.parse(a);
        String host = a.string("host", "127.0.0.1");
        String tokenFile = a.string("auth-token-file", null);
        try {
            ServeCommand command = new ServeCommand(InetAddress.getByName(host), port, metrics);
            command.tls = tls.enabled() ? tls.serverConfig() : null;
            command.clientAuth = tls.clientAuth();
            if (tokenFile != null) {
                command.tokenFile = Path.of(tokenFile);
                command.tokenDigest = sha256(readToken(command.tokenFile));
            }
            return command;
        } catch (UnknownHostException e) {
            throw new UsageException("--host '" + host + "' cannot be resolved");
        }
    }

    /**
     * The bearer token in {@code file}: its text (UTF-8) with surrounding whitespace removed.
     *
     * @throws UsageException naming the flag if the file is missing, unreadable, not UTF-8, larger
     *                        than {@link #MAX_TOKEN_FILE_BYTES}, empty, or holds more than one line
     */
    static String readToken(Path file) {
        String flag = "--auth-token-file " + file + ": ";
        String text;
        try {
            if (Files.size(file) > MAX_TOKEN_FILE_BYTES) {
                throw new UsageException(flag + "larger than " + MAX_TOKEN_FILE_BYTES
                        + " bytes; it must hold one bearer token");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UsageException(flag + "no such file");
        } catch (CharacterCodingException e) {
            throw new UsageException(flag + "not UTF-8 text");
        } catch (IOException e) {
            throw new UsageException(flag + "cannot read it (" + e.getClass().getSimpleName() + ")");
        }
        String token = text.strip();
        if (token.isEmpty()) {
            throw new UsageException(flag + "empty; it must hold one bearer token");
        }
        if (token.indexOf('\n') >= 0 || token.indexOf('\r') >= 0) {
            throw new UsageException(flag + "holds more than one line; it must hold one bearer token");
        }
        return token;
    }

    /**
     * Admits a client whose HELLO credentials are {@code {"type":"bearer","token":T}} with T equal to
     * the token whose SHA-256 is {@code digest}. The digests are compared with
     * {@link MessageDigest#isEqual} in constant time, so the time taken reveals nothing about the
     * expected token, not even its length.
     */
    static Authenticator bearerAuthenticator(byte[] digest) {
        byte[] expected = digest.clone();
        return (credentials, remote) -> {
            String token = credentials.get("token");
            boolean match = MessageDigest.isEqual(expected, sha256(token == null ? "" : token)); // always computed
            return match && token != null && "bearer".equals(credentials.get("type"));
        };
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * Starts the server and the metrics endpoint, prints where they listen, and blocks until the
     * JVM shuts down (SIGTERM, SIGINT/Ctrl-C, {@code System.exit}), whose hook shuts them down
     * gracefully: GOAWAY on every connection, up to {@link #SHUTDOWN_GRACE} for the requests it
     * covers. Returns 1 if they cannot start.
     */
    int runUntilKilled(PrintStream out, PrintStream err) {
        Running running;
        try {
            running = start();
        } catch (UncheckedIOException e) {
            err.println("error: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            out.println("tidewire server stopped");
        }, "serve-shutdown"));
        String where = "tidewire server listening on " + hostPort(host, running.port());
        if (running.metricsPort() != NO_METRICS) {
            where += ", Prometheus metrics at http://" + hostPort(host, running.metricsPort()) + "/metrics";
        }
        if (tokenDigest != null) {
            where += ", admitting only clients with the bearer token in " + tokenFile;
        }
        out.println(where + " (stop with Ctrl-C or SIGTERM: drains for up to " + SHUTDOWN_GRACE.toSeconds() + " s)");
        out.flush();
        running.awaitClosed();
        return 0;
    }

    /**
     * Binds and starts everything. Without a metrics port the server gets no listener: nothing
     * would read what it recorded.
     *
     * @throws UncheckedIOException if a port cannot be bound
     */
    Running start() {
        MetricsEndpoint endpoint = metrics.enabled() ? MetricsEndpoint.start(host, metrics.port()) : null;
        ServerMetrics serverMetrics = endpoint == null ? null
                : new ServerMetrics(endpoint.registry(), metrics.histogram(), metrics.serviceLevelObjectives());
        TidewireServer server;
        try {
            TidewireServer.Builder b = TidewireServer.builder().bindAddress(host).port(port)
                    .listener(serverMetrics == null ? ServerListener.NONE : serverMetrics);
            if (tls != null) {
                b.tls(tls, clientAuth);
            }
            if (tokenDigest != null) {
                b.authenticator(bearerAuthenticator(tokenDigest));
            }
            server = b.build().start();
        } catch (RuntimeException e) {
            if (endpoint != null) {
                endpoint.close();
            }
            throw e;
        }
        if (serverMetrics != null) {
            serverMetrics.bindStats(server);
        }
        return new Running(server, endpoint);
    }

    private static String hostPort(InetAddress host, int port) {
        return MetricsEndpoint.hostPort(host, port);
    }

    /** A started server (and metrics endpoint); {@link #close()} shuts both down gracefully. */
    static final class Running implements AutoCloseable {
        private final TidewireServer server;
        private final MetricsEndpoint endpoint;
        private final AtomicBoolean closing = new AtomicBoolean();
        private final CountDownLatch closed = new CountDownLatch(1);

        private Running(TidewireServer server, MetricsEndpoint endpoint) {
            this.server = server;
            this.endpoint = endpoint;
        }

        /** The Tidewire port. */
        int port() {
            return server.port();
        }

        /** The metrics port, or {@link #NO_METRICS}. */
        int metricsPort() {
            return endpoint == null ? NO_METRICS : endpoint.port();
        }

        /** Graceful: the server drains for up to {@link #SHUTDOWN_GRACE}, then the endpoint stops. Idempotent. */
        @Override
        public void close() {
            if (!closing.compareAndSet(false, true)) {
                awaitClosed();
                return;
            }
            try {
                server.shutdown(SHUTDOWN_GRACE);
                if (endpoint != null) {
                    endpoint.close();
                }
            } finally {
                closed.countDown();
            }
        }

        /** Blocks until {@link #close()} has finished. */
        void awaitClosed() {
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
