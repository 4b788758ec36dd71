package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One figure of a cell over its rounds: the value of each round (NaN where the round could not
 * measure it), and the median, minimum and maximum of the values it has. The median of an even
 * number of values is the mean of the middle two. The relative spread is (max - min) / median.
 *
 * @param values one per round, in round order (NaN: not measured in that round)
 * @param median median of the measured values (NaN if none)
 * @param min    smallest measured value (NaN if none)
 * @param max    largest measured value (NaN if none)
 */
record Spread(List<Double> values, double median, double min, double max) {

    /** The spread of {@code values}; NaN values are kept in {@link #values()} and left out of the rest. */
    static Spread of(List<Double> values) {
        List<Double> measured = new ArrayList<>();
        for (double v : values) {
            if (!Double.isNaN(v)) {
                measured.add(v);
            }
        }
        measured.sort(null);
        int n = measured.size();
        if (n == 0) {
            return new Spread(List.copyOf(values), Double.NaN, Double.NaN, Double.NaN);
        }
        double median = n % 2 == 1 ? measured.get(n / 2) : (measured.get(n / 2 - 1) + measured.get(n / 2)) / 2;
        return new Spread(List.copyOf(values), median, measured.get(0), measured.get(n - 1));
    }

    /** (max - min) / median: 0.1 is a spread of 10% of the median; NaN if nothing was measured or the median is 0. */
    double relative() {
        return median == 0 || Double.isNaN(median) ? Double.NaN : (max - min) / median;
    }

    /** Whether at least one round measured this figure. */
    boolean measured() {
        return !Double.isNaN(median);
    }

    /** {@code {"values": [...], "median": m, "min": a, "max": b, "relativeSpread": r}}; null where not measured. */
    ObjectNode toJson(int digits) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ArrayNode a = o.putArray("values");
        values.forEach(v -> {
            if (Double.isNaN(v)) {
                a.addNull();
            } else {
                a.add(round(v, digits));
            }
        });
        put(o, "median", median, digits);
        put(o, "min", min, digits);
        put(o, "max", max, digits);
        put(o, "relativeSpread", relative(), 3);
        return o;
    }

    /** Puts {@code v} rounded to {@code digits}, or null if it is NaN. */
    static void put(ObjectNode o, String name, double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            o.putNull(name);
        } else {
            o.put(name, round(v, digits));
        }
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
