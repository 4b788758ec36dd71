package dev.tidewire.tool.load;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.StringJoiner;
import org.HdrHistogram.Histogram;

/**
 * What one measured run (a "cell") found.
 *
 * @param calls       calls that finished inside the measurement window, successful or not
 * @param windowNanos length of the measurement window (warm-up excluded)
 * @param latency     latency of every call that finished in the window or in the drain after it
 *                    (each one recorded, none sampled; warm-up excluded), nanoseconds; in the open
 *                    loop measured from the call's intended send time
 * @param okLatency   the same for the successful calls only (all calls minus the failed ones)
 * @param errors      failed calls (window and drain) by exception type
 * @param unfinished  calls still outstanding when the run gave up waiting for them (0 normally)
 * @param open        open-loop schedule statistics, or null for a closed loop
 */
public record Result(long calls, long windowNanos, Histogram latency, Histogram okLatency, Map<String, Long> errors,
        long unfinished, OpenLoopStats open) {

    /**
     * How the open-loop schedule went. The lag of a call is its actual send time minus its
     * scheduled one ({@code start + k / rate}); the lag figures cover the calls scheduled in the
     * measurement window.
     *
     * @param offeredRate  calls per second asked for
     * @param planned      calls the schedule held (warm-up and window)
     * @param issued       calls actually sent
     * @param maxLagNanos  the furthest the sender fell behind the schedule (in the window)
     * @param endLagNanos  how far behind the sender was when the schedule ended
     * @param lagP99Nanos  the 99th percentile of the sender's lag (in the window)
     * @param sentInWindow calls sent during the measurement window
     * @param capWaits     how often the sender waited because {@link Runner#MAX_OUTSTANDING} calls
     *                     were outstanding
     */
    public record OpenLoopStats(double offeredRate, long planned, long issued, long maxLagNanos, long endLagNanos,
            long lagP99Nanos, long sentInWindow, long capWaits) {
    }

    /** Calls per second in the window. */
    public double throughput() {
        return windowNanos <= 0 ? 0 : calls * 1e9 / windowNanos;
    }

    public long errorCount() {
        return errors.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Latency at {@code percentile}, milliseconds (0 when nothing was recorded). */
    public double ms(double percentile) {
        return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(percentile) / 1e6;
    }

    /** Latency of the successful calls at {@code percentile}, milliseconds (0 when none succeeded). */
    public double okMs(double percentile) {
        return okLatency.getTotalCount() == 0 ? 0 : okLatency.getValueAtPercentile(percentile) / 1e6;
    }

    /** {@code p50 ... p99 ... max ...} of the successful calls, and their count. */
    public String okLatencyLine() {
        return String.format("p50 %s   p99 %s   max %s   (%,d calls)", fmt(okMs(50)), fmt(okMs(99)),
                fmt(okLatency.getTotalCount() == 0 ? 0 : okLatency.getMaxValue() / 1e6), okLatency.getTotalCount());
    }

    public double maxMs() {
        return latency.getTotalCount() == 0 ? 0 : latency.getMaxValue() / 1e6;
    }

    /** The shortest latency, milliseconds (0 when nothing was recorded). */
    public double minMs() {
        return latency.getTotalCount() == 0 ? 0 : latency.getMinValue() / 1e6;
    }

    /** The mean latency, milliseconds (0 when nothing was recorded). */
    public double meanMs() {
        return latency.getTotalCount() == 0 ? 0 : latency.getMean() / 1e6;
    }

    /** The standard deviation of the latency, milliseconds (0 when nothing was recorded). */
    public double stddevMs() {
        return latency.getTotalCount() == 0 ? 0 : latency.getStdDeviation() / 1e6;
    }

    /**
     * {@code min ...   mean ...   stddev ...} over every recorded call, and which calls those are:
     * all that ended in the window or the drain after it (warm-up excluded, none sampled).
     */
    public String spreadLine() {
        return String.format("min %s   mean %s   stddev %s   (all %,d calls that ended in the window or the drain"
                + " after it)", fmt(minMs()), fmt(meanMs()), fmt(stddevMs()), latency.getTotalCount());
    }

    /** The open loop's verdict on its schedule, or null for a closed loop. */
    public OpenLoopVerdict verdict() {
        return open == null ? null : OpenLoopVerdict.of(open, calls);
    }

    /**
     * Whether an open loop kept to its schedule: the sender and the server both kept up
     * ({@link OpenLoopVerdict}). Always true for a closed loop.
     */
    public boolean keptUp() {
        return open == null || verdict().keptUp();
    }

    /** The metrics as JSON: throughput, latency in ms, errors, and the open-loop schedule if any. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("calls", calls);
        o.put("seconds", round(windowNanos / 1e9, 3));
        o.put("throughput", round(throughput(), 1));
        ObjectNode l = o.putObject("latencyMs");
        l.put("p50", round(ms(50), 3));
        l.put("p90", round(ms(90), 3));
        l.put("p99", round(ms(99), 3));
        l.put("p99.9", round(ms(99.9), 3));
        l.put("max", round(maxMs(), 3));
        l.put("min", round(minMs(), 3));
        l.put("mean", round(meanMs(), 3));
        l.put("stddev", round(stddevMs(), 3));
        l.put("count", latency.getTotalCount());
        if (errorCount() > 0) { // with errors, all calls' latencies mix instant failures and slow successes
            ObjectNode k = o.putObject("okLatencyMs");
            k.put("p50", round(okMs(50), 3));
            k.put("p99", round(okMs(99), 3));
            k.put("max", round(okLatency.getTotalCount() == 0 ? 0 : okLatency.getMaxValue() / 1e6, 3));
            k.put("count", okLatency.getTotalCount());
        }
        o.put("errorCount", errorCount());
        ObjectNode e = o.putObject("errors");
        errors.forEach(e::put);
        o.put("unfinished", unfinished);
        if (open != null) {
            ObjectNode s = o.putObject("openLoop");
            s.put("offeredRate", round(open.offeredRate(), 1));
            s.put("planned", open.planned());
            s.put("issued", open.issued());
            s.put("maxLagMs", round(open.maxLagNanos() / 1e6, 3));
            s.put("endLagMs", round(open.endLagNanos() / 1e6, 3));
            s.put("lagP99Ms", round(open.lagP99Nanos() / 1e6, 3));
            s.put("sentInWindow", open.sentInWindow());
            s.put("capWaits", open.capWaits());
            OpenLoopVerdict v = verdict();
            s.put("lagBoundMs", round(v.lagBoundNanos() / 1e6, 3));
            s.put("senderKeptUp", v.senderKeptUp());
            s.put("serverKeptUp", v.serverKeptUp());
            s.put("keptUp", v.keptUp());
            s.put("verdict", v.text());
        }
        return o;
    }

    /** {@code p50 0.123 ms   p90 ...} */
    public String latencyLine() {
        return String.format("p50 %s   p90 %s   p99 %s   p99.9 %s   max %s", fmt(ms(50)), fmt(ms(90)), fmt(ms(99)),
                fmt(ms(99.9)), fmt(maxMs()));
    }

    /** {@code none} or {@code 3: RequestTimeoutException 3}. */
    public String errorLine() {
        if (errorCount() == 0) {
            return "none";
        }
        StringJoiner j = new StringJoiner(", ");
        errors.forEach((type, n) -> j.add(type + " " + n));
        return String.format("%,d: %s", errorCount(), j);
    }

    static String fmt(double ms) {
        return ms >= 100 ? String.format("%.0f ms", ms) : ms >= 10 ? String.format("%.1f ms", ms)
                : String.format("%.3f ms", ms);
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
