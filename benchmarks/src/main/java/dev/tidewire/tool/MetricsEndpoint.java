package dev.tidewire.tool;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Prometheus scrape endpoint, shared by {@code serve} and {@code load}: a
 * {@link PrometheusMeterRegistry} that also holds the JVM and process meters (memory, GC, threads,
 * class loading, CPU, uptime, file descriptors), served at {@code GET /metrics} (and
 * {@code HEAD}) by the JDK's HTTP server. A scrape whose {@code Accept} header lists
 * {@code application/openmetrics-text} gets OpenMetrics 1.0.0 text, any other Prometheus text
 * 0.0.4, each with its own {@code Content-Type}. Other paths answer 404, other methods 405.
 *
 * <pre>{@code
 * try (MetricsEndpoint endpoint = MetricsEndpoint.start(InetAddress.getLoopbackAddress(), 0)) {
 *     TidewireClient client = TidewireClient.builder().address(a).meterRegistry(endpoint.registry()).build();
 *     System.out.println("scrape " + endpoint.url());
 * }
 * }</pre>
 */
public final class MetricsEndpoint implements AutoCloseable {
    /** {@code Content-Type} of the Prometheus text format. */
    public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    /** {@code Content-Type} of the OpenMetrics text format. */
    public static final String OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final HttpServer http;
    private final InetAddress host;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MetricsEndpoint(PrometheusMeterRegistry registry, JvmGcMetrics gc, HttpServer http, InetAddress host) {
        this.registry = registry;
        this.gc = gc;
        this.http = http;
        this.host = host;
    }

    /**
     * Makes the registry, binds the JVM and process meters to it and serves it on
     * {@code host:port} (0 picks a free port).
     *
     * @throws UncheckedIOException if the port cannot be bound
     */
    public static MetricsEndpoint start(InetAddress host, int port) {
        HttpServer http;
        try {
            http = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the metrics endpoint to " + hostPort(host, port) + ": "
                    + e.getMessage(), e);
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        http.createContext("/metrics", exchange -> scrape(exchange, registry));
        http.start();
        return new MetricsEndpoint(registry, gc, http, host);
    }

    /** The registry served; register meters here. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The port the endpoint listens on. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** {@code http://host:port/metrics}. */
    public String url() {
        return "http://" + hostPort(host, port()) + "/metrics";
    }

    /** Stops serving, unbinds the GC listeners and closes the registry. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        http.stop(0);
        gc.close();
        registry.close();
    }

    /**
     * The format a scrape gets: OpenMetrics when one of its {@code Accept} headers lists
     * {@code application/openmetrics-text} (with a quality above 0), else Prometheus text.
     */
    static String contentType(List<String> acceptHeaders) {
        if (acceptHeaders != null) {
            for (String header : acceptHeaders) {
                for (String range : header.split(",")) {
                    String[] parts = range.split(";");
                    if (parts[0].trim().equalsIgnoreCase("application/openmetrics-text") && !qualityZero(parts)) {
                        return OPENMETRICS_TEXT;
                    }
                }
            }
        }
        return PROMETHEUS_TEXT;
    }

    private static boolean qualityZero(String[] parts) {
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim().toLowerCase(Locale.ROOT).replace(" ", "");
            if (p.startsWith("q=")) {
                try {
                    return Double.parseDouble(p.substring(2)) <= 0;
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return false;
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
                String contentType = contentType(exchange.getRequestHeaders().get("Accept"));
                ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
                registry.scrape(body, contentType);
                exchange.getResponseHeaders().set("Content-Type", contentType);
                exchange.getResponseHeaders().set("Vary", "Accept");
                if (method.equals("HEAD")) {
                    exchange.sendResponseHeaders(200, -1);
                } else {
                    exchange.sendResponseHeaders(200, body.size());
                    try (OutputStream o = exchange.getResponseBody()) {
                        body.writeTo(o);
                    }
                }
            }
        }
    }

    /** {@code host:port}, an IPv6 host in brackets. */
    static String hostPort(InetAddress host, int port) {
        String h = host.getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
    }
}
