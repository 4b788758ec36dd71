package dev.tidewire.tool;

import dev.tidewire.transport.TlsConfig;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code serve}: runs the reference {@link TidewireServer} and, optionally, a Prometheus scrape
 * endpoint ({@code GET /metrics}) with the server's {@link ServerMetrics}.
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
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final InetAddress host;
    private final int port;
    private final int metricsPort;
    private TlsConfig tls;          // set by parse; null: plain TCP
    private boolean clientAuth;

    /** A server on {@code host:port} (0 picks a free port), with metrics on {@code metricsPort} or {@link #NO_METRICS}. */
    ServeCommand(InetAddress host, int port, int metricsPort) {
        this.host = host;
        this.port = port;
        this.metricsPort = metricsPort;
    }

    /** Reads {@code --port N [--metrics-port M] [--host H]}. */
    static ServeCommand parse(List<String> args) {
        Args a = Args.parse("serve", args, TlsFlags.with(Set.of("port", "metrics-port", "host")),
                Set.of(TlsFlags.CLIENT_AUTH));
        TlsFlags tls = TlsFlags.parse(a);
        a.positional(0, "");
        a.required("port");
        int port = a.integer("port", 0, 0, 65535);
        int metricsPort = a.integer("metrics-port", NO_METRICS, 0, 65535);
        String host = a.string("host", "127.0.0.1");
        try {
            ServeCommand command = new ServeCommand(InetAddress.getByName(host), port, metricsPort);
            command.tls = tls.enabled() ? tls.serverConfig() : null;
            command.clientAuth = tls.clientAuth();
            return command;
        } catch (UnknownHostException e) {
            throw new UsageException("--host '" + host + "' cannot be resolved");
        }
    }

    /**
     * Starts the server and the metrics endpoint, prints where they listen, and blocks until the
     * JVM shuts down, whose hook shuts them down gracefully. Returns 1 if they cannot start.
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
        out.println(where + " (stop with Ctrl-C)");
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
