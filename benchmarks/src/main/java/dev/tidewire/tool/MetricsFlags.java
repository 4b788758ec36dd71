package dev.tidewire.tool;

import dev.tidewire.client.TidewireClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metrics flags shared by {@code serve} and {@code load}: {@code --metrics-port M} turns the
 * Prometheus endpoint ({@link MetricsEndpoint}) on; {@code --metrics-histogram on|off} (default
 * on: the tool is for charting) publishes a percentile histogram on the request timer;
 * {@code --metrics-slo 5ms,10ms,..} adds exact buckets. The last two need {@code --metrics-port}.
 */
public final class MetricsFlags {
    /** The flags, all taking a value. */
    public static final Set<String> VALUED = Set.of("metrics-port", "metrics-histogram", "metrics-slo");
    /**
     * The metrics port the tool's messages and examples use for {@code serve}, as README.md and
     * docs/metrics.md do (no default: without {@code --metrics-port} there is no endpoint).
     */
    public static final int SERVE_PORT = 9400;
    /** The metrics port they use for a client ({@code load}): beside {@link #SERVE_PORT}, not on it. */
    public static final int CLIENT_PORT = 9401;
    /** {@link #port()} when there is no endpoint. */
    public static final int NO_METRICS = -1;
    /** Most {@code --metrics-slo} boundaries, as for the client. */
    public static final int MAX_SLOS = TidewireClient.Builder.MAX_METRICS_SLOS;
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(us|ms|s)");

    private final int port;
    private final boolean histogram;
    private final List<Duration> serviceLevelObjectives;

    /** Flags for an endpoint on {@code port} ({@link #NO_METRICS} for none). */
    public MetricsFlags(int port, boolean histogram, List<Duration> serviceLevelObjectives) {
        this.port = port;
        this.histogram = histogram;
        this.serviceLevelObjectives = List.copyOf(serviceLevelObjectives);
    }

    /** {@code base} plus the metrics flags. */
    public static Set<String> with(Set<String> base) {
        Set<String> all = new HashSet<>(base);
        all.addAll(VALUED);
        return all;
    }

    /** Reads the flags; without {@code --metrics-port} there is no endpoint and the others are refused. */
    public static MetricsFlags parse(Args a) {
        int port = a.integer("metrics-port", NO_METRICS, 0, 65535);
        if (port == NO_METRICS && (a.has("metrics-histogram") || a.has("metrics-slo"))) {
            throw new UsageException("--metrics-histogram and --metrics-slo need --metrics-port");
        }
        String h = a.string("metrics-histogram", "on");
        if (!h.equals("on") && !h.equals("off")) {
            throw new UsageException("--metrics-histogram must be on or off, got '" + h + "'");
        }
        return new MetricsFlags(port, h.equals("on"), durations(a.string("metrics-slo", null)));
    }

    /** {@code 5ms,10ms,1s}: whole numbers of us, ms or s, each &gt; 0, no duplicates, ascending in the result. */
    static List<Duration> durations(String list) {
        if (list == null) {
            return List.of();
        }
        List<String> parts = List.of(list.split(",", -1));
        if (parts.size() > MAX_SLOS) {
            throw new UsageException("--metrics-slo lists " + parts.size() + " boundaries; at most " + MAX_SLOS);
        }
        TreeSet<Duration> out = new TreeSet<>();
        for (String part : parts) {
            Matcher m = DURATION.matcher(part.trim());
            if (!m.matches()) {
                throw new UsageException("--metrics-slo takes durations like 500us,5ms,1s; got '" + part + "'");
            }
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "us" -> Duration.ofNanos(n * 1_000);
                case "ms" -> Duration.ofMillis(n);
                default -> Duration.ofSeconds(n);
            };
            if (d.isZero()) {
                throw new UsageException("--metrics-slo boundaries must be > 0, got '" + part + "'");
            }
            if (!out.add(d)) {
                throw new UsageException("--metrics-slo lists " + part.trim() + " twice");
            }
        }
        return new ArrayList<>(out);
    }

    /** Whether {@code --metrics-port} was given. */
    public boolean enabled() {
        return port != NO_METRICS;
    }

    /** The metrics port (0: a free one), or {@link #NO_METRICS}. */
    public int port() {
        return port;
    }

    /** Whether the request timer publishes a percentile histogram. */
    public boolean histogram() {
        return histogram;
    }

    /** Extra bucket boundaries of the request timer, ascending. */
    public List<Duration> serviceLevelObjectives() {
        return serviceLevelObjectives;
    }

    /** {@code b} publishing to {@code registry} with these flags' histogram and buckets. */
    public TidewireClient.Builder applyTo(TidewireClient.Builder b, MeterRegistry registry) {
        return b.meterRegistry(registry).metricsHistogram(histogram)
                .metricsServiceLevelObjectives(serviceLevelObjectives.toArray(new Duration[0]));
    }
}
