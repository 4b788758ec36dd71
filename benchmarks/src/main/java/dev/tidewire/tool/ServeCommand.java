package dev.tidewire.tool;

import dev.tidewire.transport.TlsConfig;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.tidewire.server.Authenticator;
import dev.tidewire.server.TidewireServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
 * endpoint ({@code GET /metrics}) with the server's {@link ServerMetrics}. With
 * {@code --auth-token-file} it admits only clients whose HELLO carries that bearer token.
 *
 * <pre>{@code
 * try (ServeCommand.Running r = new ServeCommand(InetAddress.getLoopbackAddress(), 0, 0).start()) {
 *     int port = r.port(), metricsPort = r.metricsPort();
 * }
 * }</pre>
 */
final class ServeCommand {
    /** {@link #metricsPort} when there is no metrics endpoint. */
    static final int NO_METRICS = -1;
    /** How long a graceful shutdown lets requests in flight finish. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    /** Largest token file read: a HELLO, which must carry the token, is at most 64 KiB. */
    static final int MAX_TOKEN_FILE_BYTES = 64 * 1024;
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final InetAddress host;
    private final int port;
    private final int metricsPort;
    private TlsConfig tls;          // set by parse; null: plain TCP
    private boolean clientAuth;
    private byte[] tokenDigest;     // SHA-256 of the required bearer token; null: every client is admitted
    private Path tokenFile;         // where it came from, for the start-up line

    /** A server on {@code host:port} (0 picks a free port), with metrics on {@code metricsPort} or {@link #NO_METRICS}. */
    ServeCommand(InetAddress host, int port, int metricsPort) {
        this.host = host;
        this.port = port;
        this.metricsPort = metricsPort;
    }

    /** Reads {@code --port N [--metrics-port M] [--host H] [--auth-token-file F]} and the TLS flags. */
    static ServeCommand parse(List<String> args) {
        Args a = Args.parse("serve", args, TlsFlags.with(Set.of("port", "metrics-port", "host", "auth-token-file")),
                Set.of(TlsFlags.CLIENT_AUTH));
        TlsFlags tls = TlsFlags.parse(a);
        a.positional(0, "");
        a.required("port");
        int port = a.integer("port", 0, 0, 65535);
        int metricsPort = a.integer("metrics-port", NO_METRICS, 0, 65535);
        String host = a.string("host", "127.0.0.1");
        String tokenFile = a.string("auth-token-file", null);
        try {
            ServeCommand command = new ServeCommand(InetAddress.getByName(host), port, metricsPort);
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
     * Binds and starts everything.
     *
     * @throws UncheckedIOException if a port cannot be bound
     */
    Running start() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ServerMetrics metrics = new ServerMetrics(registry);
        TidewireServer server;
        try {
            TidewireServer.Builder b = TidewireServer.builder().bindAddress(host).port(port).listener(metrics);
            if (tls != null) {
                b.tls(tls, clientAuth);
            }
            if (tokenDigest != null) {
                b.authenticator(bearerAuthenticator(tokenDigest));
            }
            server = b.build().start();
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        metrics.bindStats(server);
        HttpServer http = null;
        if (metricsPort != NO_METRICS) {
            try {
                http = HttpServer.create(new InetSocketAddress(host, metricsPort), 0);
            } catch (IOException e) {
                server.close();
                registry.close();
                throw new UncheckedIOException("cannot bind the metrics endpoint to " + hostPort(host, metricsPort)
                        + ": " + e.getMessage(), e);
            }
            http.createContext("/metrics", exchange -> scrape(exchange, registry));
            http.start();
        }
        return new Running(server, http, registry);
    }

    private static void scrape(HttpExchange exchange, PrometheusMeterRegistry registry) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                exchange.sendResponseHeaders(404, -1);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
            } else {
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", PROMETHEUS_TEXT);
                if (method.equals("HEAD")) {
                    exchange.sendResponseHeaders(200, -1);
                } else {
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream o = exchange.getResponseBody()) {
                        o.write(body);
                    }
                }
            }
        }
    }

    private static String hostPort(InetAddress host, int port) {
        String h = host.getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
    }

    /** A started server (and metrics endpoint); {@link #close()} shuts both down gracefully. */
    static final class Running implements AutoCloseable {
        private final TidewireServer server;
        private final HttpServer http;
        private final PrometheusMeterRegistry registry;
        private final AtomicBoolean closing = new AtomicBoolean();
        private final CountDownLatch closed = new CountDownLatch(1);

        private Running(TidewireServer server, HttpServer http, PrometheusMeterRegistry registry) {
            this.server = server;
            this.http = http;
            this.registry = registry;
        }

        /** The Tidewire port. */
        int port() {
            return server.port();
        }

        /** The metrics port, or {@link #NO_METRICS}. */
        int metricsPort() {
            return http == null ? NO_METRICS : http.getAddress().getPort();
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
                if (http != null) {
                    http.stop(0);
                }
                registry.close();
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
