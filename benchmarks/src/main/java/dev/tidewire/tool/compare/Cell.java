package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.tool.load.Result;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * One cell of {@code compare} (a system at one caller count C) over its rounds: each round's
 * {@link Result} and CPU times, and the figures the report reads, which are medians over the
 * rounds ({@link #throughput()}, {@link #ms(double)}, {@link #maxMs()},
 * {@link #clientUsPerCall()}, {@link #serverUsPerCall()}); with one round, that round's own.
 */
final class Cell {
    /**
     * One round of a cell.
     *
     * @param round          1-based
     * @param result         what the runner measured
     * @param clientCpuNanos CPU time of this JVM over the window, or -1 if unavailable
     * @param serverCpuNanos CPU time of the server's process over the window, or -1 if unavailable
     *                       or the server runs in this JVM
     */
    record Round(int round, Result result, long clientCpuNanos, long serverCpuNanos) {
        /** Microseconds of this JVM's CPU time per call completed in the window; NaN if unavailable. */
        double clientUsPerCall() {
            return perCall(clientCpuNanos, result.calls());
        }

        /** Microseconds of the server's CPU time per call completed in the window; NaN if unavailable. */
        double serverUsPerCall() {
            return perCall(serverCpuNanos, result.calls());
        }

        /** The result's JSON, with the round number and its CPU figures (null where unavailable). */
        ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("round", round);
            o.setAll(result.toJson());
            Spread.put(o, "clientCpuSeconds", clientCpuNanos < 0 ? Double.NaN : clientCpuNanos / 1e9, 3);
            Spread.put(o, "serverCpuSeconds", serverCpuNanos < 0 ? Double.NaN : serverCpuNanos / 1e9, 3);
            Spread.put(o, "clientCpuUsPerCall", clientUsPerCall(), 3);
            Spread.put(o, "serverCpuUsPerCall", serverUsPerCall(), 3);
            return o;
        }
    }

    private final List<Round> rounds = new ArrayList<>();

    /** Adds a round's measurement. */
    void add(Round r) {
        rounds.add(r);
    }

    /** The rounds measured, in order. */
    List<Round> rounds() {
        return List.copyOf(rounds);
    }

    /** CPU nanoseconds per call in microseconds; NaN if the time is unavailable ({@code < 0}) or no call completed. */
    static double perCall(long cpuNanos, long calls) {
        return cpuNanos < 0 || calls <= 0 ? Double.NaN : cpuNanos / 1e3 / calls;
    }

    private Spread spread(ToDoubleFunction<Round> f) {
        return Spread.of(rounds.stream().map(f::applyAsDouble).toList());
    }

    /** Throughput (calls per second) over the rounds. */
    Spread throughputSpread() {
        return spread(r -> r.result().throughput());
    }

    /** Latency at {@code percentile}, ms, over the rounds. */
    Spread msSpread(double percentile) {
        return spread(r -> r.result().ms(percentile));
    }

    /** Client CPU microseconds per call over the rounds. */
    Spread clientCpuSpread() {
        return spread(Round::clientUsPerCall);
    }

    /** Server CPU microseconds per call over the rounds. */
    Spread serverCpuSpread() {
        return spread(Round::serverUsPerCall);
    }

    /** Median throughput, calls per second. */
    double throughput() {
        return throughputSpread().median();
    }

    /** Median latency at {@code percentile}, ms. */
    double ms(double percentile) {
        return msSpread(percentile).median();
    }

    /** Median of the rounds' maximum latency, ms. */
    double maxMs() {
        return spread(r -> r.result().maxMs()).median();
    }

    /** Median client CPU microseconds per call; NaN if unavailable. */
    double clientUsPerCall() {
        return clientCpuSpread().median();
    }

    /** Median server CPU microseconds per call; NaN if unavailable (or the server runs in this JVM). */
    double serverUsPerCall() {
        return serverCpuSpread().median();
    }

    /** Failed calls of all rounds. */
    long errorCount() {
        return rounds.stream().mapToLong(r -> r.result().errorCount()).sum();
    }

    /** Calls still outstanding when a round gave up waiting for them, all rounds. */
    long unfinished() {
        return rounds.stream().mapToLong(r -> r.result().unfinished()).sum();
    }

    /** Calls completed in the windows of all rounds. */
    long calls() {
        return rounds.stream().mapToLong(r -> r.result().calls()).sum();
    }

    /**
     * The cell as JSON. At the top, in the shape of a single {@link Result#toJson()}: totals
     * ({@code calls}, {@code seconds}, {@code errorCount}, {@code errors}, {@code unfinished},
     * latency {@code count}) and medians (every other figure, {@code throughput} and each field of
     * {@code latencyMs}); then {@code clientCpuUsPerCall} and {@code serverCpuUsPerCall} (medians,
     * null where unavailable), {@code clientCpuSeconds} and {@code serverCpuSeconds} (totals),
     * {@code median}, {@code min}, {@code max} and {@code relativeSpread} of throughput, p50, p99
     * and both CPU figures, and {@code rounds}: each round's own figures. With one round, the
     * top is that round's.
     */
    ObjectNode toJson() {
        List<ObjectNode> each = rounds.stream().map(Round::toJson).toList();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("calls", calls());
        o.put("seconds", Spread.round(rounds.stream().mapToLong(r -> r.result().windowNanos()).sum() / 1e9, 3));
        Spread.put(o, "throughput", throughput(), 1);
        o.set("latencyMs", medians(each, "latencyMs"));
        if (each.stream().anyMatch(r -> r.has("okLatencyMs"))) {
            o.set("okLatencyMs", medians(each, "okLatencyMs"));
        }
        o.put("errorCount", errorCount());
        Map<String, Long> errors = new TreeMap<>();
        rounds.forEach(r -> r.result().errors().forEach((k, v) -> errors.merge(k, v, Long::sum)));
        ObjectNode e = o.putObject("errors");
        errors.forEach(e::put);
        o.put("unfinished", unfinished());
        Spread.put(o, "clientCpuUsPerCall", clientUsPerCall(), 3);
        Spread.put(o, "serverCpuUsPerCall", serverUsPerCall(), 3);
        Spread.put(o, "clientCpuSeconds", totalSeconds(Round::clientCpuNanos), 3);
        Spread.put(o, "serverCpuSeconds", totalSeconds(Round::serverCpuNanos), 3);
        Map<String, Spread> figures = Map.of("throughput", throughputSpread(), "p50Ms", msSpread(50),
                "p99Ms", msSpread(99), "clientCpuUsPerCall", clientCpuSpread(), "serverCpuUsPerCall", serverCpuSpread());
        List<String> order = List.of("throughput", "p50Ms", "p99Ms", "clientCpuUsPerCall", "serverCpuUsPerCall");
        ObjectNode median = o.putObject("median");
        ObjectNode min = o.putObject("min");
        ObjectNode max = o.putObject("max");
        ObjectNode rel = o.putObject("relativeSpread");
        for (String f : order) {
            Spread s = figures.get(f);
            int digits = f.equals("throughput") ? 1 : 3;
            Spread.put(median, f, s.median(), digits);
            Spread.put(min, f, s.min(), digits);
            Spread.put(max, f, s.max(), digits);
            Spread.put(rel, f, s.relative(), 3);
        }
        ArrayNode list = o.putArray("rounds");
        each.forEach(list::add);
        return o;
    }

    /** The sum of every round's CPU time in seconds; NaN if any round's is unavailable. */
    private double totalSeconds(java.util.function.ToLongFunction<Round> f) {
        long sum = 0;
        for (Round r : rounds) {
            long v = f.applyAsLong(r);
            if (v < 0) {
                return Double.NaN;
            }
            sum += v;
        }
        return rounds.isEmpty() ? Double.NaN : sum / 1e9;
    }

    /** Field by field over the rounds' {@code name} objects: the median, except {@code count}, the sum. */
    private static ObjectNode medians(List<ObjectNode> rounds, String name) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        Map<String, List<Double>> values = new java.util.LinkedHashMap<>();
        for (ObjectNode r : rounds) {
            JsonNode n = r.path(name);
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                values.computeIfAbsent(f, k -> new ArrayList<>()).add(n.get(f).asDouble());
            }
        }
        values.forEach((f, v) -> {
            if (f.equals("count")) {
                o.put(f, v.stream().mapToLong(Double::longValue).sum());
            } else {
                Spread.put(o, f, Spread.of(v).median(), 3);
            }
        });
        return o;
    }
}
