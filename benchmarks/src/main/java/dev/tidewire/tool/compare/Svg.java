package dev.tidewire.tool.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.DoubleFunction;

/**
 * Hand-written SVG line charts: numeric x (linear or log2), y linear from zero or log10, one
 * polyline with markers per series (dashed for series marked so), a legend, hollow markers for
 * points flagged as suspect (an open loop that did not keep up), and optional whiskers (a range
 * such as the min-max over rounds) at each point. Public for the fleet simulation's charts
 * ({@code dev.tidewire.tool.sim}).
 */
public final class Svg {
    /**
     * One point; {@code flagged} draws it hollow; {@code lo} and {@code hi}, unless NaN, draw a
     * whisker from {@code lo} to {@code hi} through it.
     *
     * @param x       the x value
     * @param y       the y value
     * @param flagged draw the marker hollow
     * @param lo      bottom of the whisker, or NaN for none
     * @param hi      top of the whisker, or NaN for none
     */
    public record Point(double x, double y, boolean flagged, double lo, double hi) {
        /** A point without a whisker. */
        public Point(double x, double y, boolean flagged) {
            this(x, y, flagged, Double.NaN, Double.NaN);
        }

        /** Whether this point has a whisker. */
        public boolean whisker() {
            return !Double.isNaN(lo) && !Double.isNaN(hi);
        }
    }

    /**
     * One line of the chart.
     *
     * @param name   its legend text
     * @param points its points
     * @param dashed draw the line (and its legend sample) dashed
     */
    public record Series(String name, List<Point> points, boolean dashed) {
        /** A solid line. */
        public Series(String name, List<Point> points) {
            this(name, points, false);
        }
    }

    /**
     * Where the x axis has its ticks and how they read.
     *
     * @param ticks   tick positions, or null for one tick at each x of the data
     * @param label   a tick's text, or null for the default number format
     * @param markers a circle at each point (false: lines only, for long series)
     */
    public record XAxis(List<Double> ticks, DoubleFunction<String> label, boolean markers) {
    }

    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
        // a second set, darker, so that up to 20 series (a full compare run) keep distinct colours
        "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
        "#000000"};
    private static final int WIDTH = 760;
    private static final int HEIGHT = 460;
    /** Approximate width of one legend character at font size 12, for widening the legend column. */
    private static final int CHAR_WIDTH = 7;
    private static final int LEFT = 80;
    private static final int RIGHT = 230;
    private static final int TOP = 56;
    private static final int BOTTOM = 64;

    private Svg() {
    }

    /**
     * A line chart.
     *
     * @param logX  x on a log2 axis (ticks at the data's x values); else linear
     * @param logY  y on a log10 axis; else linear from 0
     * @param note  a line of small text under the title (may be empty)
     */
    public static String lineChart(String title, String note, String xLabel, String yLabel, List<Series> series,
            boolean logX, boolean logY) {
        return lineChart(title, note, xLabel, yLabel, series, logX, logY, new XAxis(null, null, true));
    }

    /** A line chart with the x axis's ticks, tick text and markers set by {@code axis}. */
    public static String lineChart(String title, String note, String xLabel, String yLabel, List<Series> series,
            boolean logX, boolean logY, XAxis axis) {
        TreeSet<Double> xs = new TreeSet<>();
        double yMin = Double.MAX_VALUE;
        double yMax = 0;
        for (Series s : series) {
            for (Point p : s.points()) {
                xs.add(p.x());
                for (double y : p.whisker() ? new double[] {p.y(), p.lo(), p.hi()} : new double[] {p.y()}) {
                    if (y > 0) {
                        yMin = Math.min(yMin, y);
                    }
                    yMax = Math.max(yMax, y);
                }
            }
        }
        if (xs.isEmpty()) {
            xs.add(1.0);
        }
        if (yMax <= 0) {
            yMax = 1;
            yMin = 1;
        }
        if (axis.ticks() != null && !axis.ticks().isEmpty()) {
            xs.addAll(axis.ticks()); // the axis spans the ticks and the data
        }
        double x0 = xs.first();
        double x1 = xs.last() > x0 ? xs.last() : x0 + 1;
        TreeSet<Double> xTicks = axis.ticks() == null ? xs : new TreeSet<>(axis.ticks());
        double[] yRange;
        List<Double> yTicks = new ArrayList<>();
        if (logY) {
            double lo = Math.pow(10, Math.floor(Math.log10(yMin)));
            double hi = Math.pow(10, Math.ceil(Math.log10(yMax)));
            if (hi <= lo) {
                hi = lo * 10;
            }
            yRange = new double[] {lo, hi};
            for (double d = lo; d <= hi * 1.0001; d *= 10) {
                for (int m : new int[] {1, 2, 5}) {
                    if (d * m <= hi * 1.0001) {
                        yTicks.add(d * m);
                    }
                }
            }
        } else {
            double step = niceStep(yMax / 5);
            double hi = Math.ceil(yMax / step) * step;
            yRange = new double[] {0, hi};
            for (int i = 0; i <= Math.round(hi / step); i++) {
                yTicks.add(i * step);
            }
        }
        int plotW = WIDTH - LEFT - RIGHT;
        // a legend of long names widens the chart, and one of many lines makes it taller
        int longest = series.stream().mapToInt(s -> s.name().length()).max().orElse(0);
        int right = Math.max(RIGHT, 44 + longest * CHAR_WIDTH + 10);
        int width = LEFT + plotW + right;
        int height = Math.max(HEIGHT, TOP + 10 + (series.size() + 1) * 20 + 10);
        int plotH = height - TOP - BOTTOM;
        StringBuilder b = new StringBuilder();
        b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", width, height, width, height));
        b.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>%n",
                width, height));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>%n",
                LEFT, esc(title)));
        if (!note.isEmpty()) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"42\" font-size=\"11\" fill=\"#555\">%s</text>%n",
                    LEFT, esc(note)));
        }
        // grid and y ticks
        for (double t : yTicks) {
            double y = TOP + plotH - frac(t, yRange[0], yRange[1], logY) * plotH;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>%n",
                    LEFT, y, LEFT + plotW, y));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    LEFT - 6, y + 4, esc(label(t))));
        }
        // x ticks at the data's x values, or where the axis puts them
        for (double t : xTicks) {
            double x = LEFT + frac(t, x0, x1, logX) * plotW;
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e5e5\"/>%n",
                    x, TOP, x, TOP + plotH));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    x, TOP + plotH + 18, esc(axis.label() == null ? label(t) : axis.label().apply(t))));
        }
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\""
                + " stroke=\"#333\"/>%n", LEFT, TOP, plotW, plotH));
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                LEFT + plotW / 2.0, height - 20, esc(xLabel + (logX ? " (log scale)" : ""))));
        b.append(String.format(Locale.ROOT, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\""
                + " transform=\"rotate(-90 18 %.1f)\">%s</text>%n", TOP + plotH / 2.0, TOP + plotH / 2.0,
                esc(yLabel + (logY ? " (log scale)" : ""))));
        // series
        int i = 0;
        boolean anyFlagged = false;
        for (Series s : series) {
            String color = COLORS[i % COLORS.length];
            String dash = s.dashed() ? " stroke-dasharray=\"6 4\"" : "";
            StringBuilder pts = new StringBuilder();
            StringBuilder marks = new StringBuilder();
            for (Point p : s.points()) {
                if (logY && p.y() <= 0) {
                    continue;
                }
                double x = LEFT + frac(p.x(), x0, x1, logX) * plotW;
                double y = TOP + plotH - frac(p.y(), yRange[0], yRange[1], logY) * plotH;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                if (!axis.markers()) {
                    continue;
                }
                anyFlagged |= p.flagged();
                if (p.whisker() && (!logY || p.lo() > 0)) {
                    double lo = TOP + plotH - frac(p.lo(), yRange[0], yRange[1], logY) * plotH;
                    double hi = TOP + plotH - frac(p.hi(), yRange[0], yRange[1], logY) * plotH;
                    marks.append(String.format(Locale.ROOT, "<path d=\"M%.1f,%.1f V%.1f M%.1f,%.1f H%.1f M%.1f,%.1f H%.1f\""
                            + " stroke=\"%s\" stroke-width=\"1\" fill=\"none\"/>%n", x, lo, hi, x - 3, lo, x + 3,
                            x - 3, hi, x + 3, color));
                }
                marks.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\""
                        + " stroke=\"%s\" stroke-width=\"1.5\"><title>%s: %s, %s</title></circle>%n", x, y,
                        p.flagged() ? "white" : color, color, esc(s.name()),
                        esc(axis.label() == null ? label(p.x()) : axis.label().apply(p.x())), esc(label(p.y()))));
            }
            b.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"%s\"/>%n",
                    color, dash, pts.toString().trim()));
            b.append(marks);
            int ly = TOP + 10 + i * 20;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\""
                    + " stroke-width=\"2\"%s/>%n", LEFT + plotW + 14, ly, LEFT + plotW + 38, ly, color, dash));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", LEFT + plotW + 44, ly + 4,
                    esc(s.name())));
            i++;
        }
        if (anyFlagged) {
            int ly = TOP + 10 + i * 20 + 6;
            b.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"white\" stroke=\"#333\"/>%n",
                    LEFT + plotW + 26, ly));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">did not keep up</text>%n",
                    LEFT + plotW + 44, ly + 4));
        }
        b.append("</svg>\n");
        return b.toString();
    }

    private static double frac(double v, double lo, double hi, boolean log) {
        if (log) {
            return (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
        }
        return (v - lo) / (hi - lo);
    }

    public static double niceStep(double raw) {
        if (raw <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double m = raw / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }

    /** 1,234 / 12.5k / 0.25 ... */
    static String label(double v) {
        if (v == 0) {
            return "0";
        }
        if (Math.abs(v) >= 1_000_000) {
            return trim(v / 1_000_000) + "M";
        }
        if (Math.abs(v) >= 1000) {
            return trim(v / 1000) + "k";
        }
        return trim(v);
    }

    private static String trim(double v) {
        String s = Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v)
                : Math.abs(v) >= 1 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.3f", v);
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
