package dev.tidewire.tool.compare;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.tool.compare.CompareCommand.SystemUnderTest;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Issue 15's targets, checked at every C from the cells' medians: Tidewire's client CPU per call
 * against Lettuce, gRPC and Jedis, and its throughput against Jedis and gRPC's blocking stubs,
 * from platform and from virtual threads, and its async client CPU over TLS against gRPC's over TLS
 * (Lettuce has no TLS row: the Redis rows run plaintext). A target whose systems did not run (or whose CPU time
 * could not be read) is reported as "not measured", once.
 */
final class Issue15Targets {
    /** The figure a target compares. */
    enum Figure {
        /** Client (this JVM's) CPU microseconds per call: Tidewire's must be at most goal x the peer's. */
        CLIENT_CPU("clientCpuUsPerCall", false),
        /** Calls per second: Tidewire's must be at least goal x the peer's. */
        THROUGHPUT("throughput", true);

        final String json;
        final boolean atLeast;

        Figure(String json, boolean atLeast) {
            this.json = json;
            this.atLeast = atLeast;
        }

        double of(Cell c) {
            return this == CLIENT_CPU ? c.clientUsPerCall() : c.throughput();
        }
    }

    /**
     * One target: {@code tidewire}'s {@code figure} against the peer's, times {@code goal}. The
     * peer is the system named {@code peer}; or, when {@code pick} is not null, the best of the
     * systems {@code pick} accepts at that C (lowest client CPU, or highest throughput), described
     * as {@code peer}.
     */
    record Target(String check, String tidewire, Figure figure, double goal, String peer, Predicate<SystemUnderTest> pick) {
    }

    /**
     * The targets, in the order they are printed. Each CPU target is checked twice: for the row
     * an application mapping JSON trees gets ({@code tidewire-async}, ...), and for the row that
     * moves bytes like the peers do ({@code -raw}), the like-for-like one.
     */
    static final List<Target> TARGETS = List.of(
            new Target("client CPU/call <= 0.25x lettuce-async", "tidewire-async", Figure.CLIENT_CPU, 0.25,
                    "lettuce-async", null),
            new Target("client CPU/call <= 0.12x gRPC best (lowest CPU/call)", "tidewire-async", Figure.CLIENT_CPU,
                    0.12, "a plaintext grpc-* system", s -> s.family().equals("grpc") && !s.tls()),
            new Target("client CPU/call <= jedis-pool", "tidewire-blocking", Figure.CLIENT_CPU, 1, "jedis-pool", null),
            new Target("throughput >= jedis-pool", "tidewire-blocking", Figure.THROUGHPUT, 1, "jedis-pool", null),
            new Target("throughput >= 2x gRPC blocking best", "tidewire-blocking", Figure.THROUGHPUT, 2,
                    "a grpc-blocking-Nch system", Issue15Targets::grpcBlockingOnPlatformThreads),
            new Target("throughput >= 2x grpc-blocking-vt", "tidewire-blocking-vt", Figure.THROUGHPUT, 2,
                    "grpc-blocking-vt", null),
            new Target("throughput >= lettuce-sync-vt", "tidewire-blocking-vt", Figure.THROUGHPUT, 1,
                    "lettuce-sync-vt", null),
            new Target("TLS: client CPU/call <= 0.12x the lowest grpc-*-tls", "tidewire-async-tls", Figure.CLIENT_CPU,
                    0.12, "a grpc-*-tls system", Issue15Targets::grpcOverTls),
            // the same CPU targets for the rows that move bytes like the peers (no Jackson mapping)
            new Target("client CPU/call <= 0.25x lettuce-async", "tidewire-async-raw", Figure.CLIENT_CPU, 0.25,
                    "lettuce-async", null),
            new Target("client CPU/call <= 0.12x gRPC best (lowest CPU/call)", "tidewire-async-raw", Figure.CLIENT_CPU,
                    0.12, "a plaintext grpc-* system", s -> s.family().equals("grpc") && !s.tls()),
            new Target("client CPU/call <= jedis-pool", "tidewire-blocking-raw", Figure.CLIENT_CPU, 1, "jedis-pool",
                    null),
            new Target("TLS: client CPU/call <= 0.12x the lowest grpc-*-tls", "tidewire-async-raw-tls",
                    Figure.CLIENT_CPU, 0.12, "a grpc-*-tls system", Issue15Targets::grpcOverTls));

    private static boolean grpcOverTls(SystemUnderTest s) {
        return s.family().equals("grpc") && s.tls();
    }

    private Issue15Targets() {
    }

    /** gRPC's blocking stub from platform threads, plaintext: {@code grpc-blocking-1ch}, {@code -4ch}, ... */
    static boolean grpcBlockingOnPlatformThreads(SystemUnderTest s) {
        return s.family().equals("grpc") && !s.async() && !s.tls() && !s.virtualThreads()
                && s.name().startsWith("grpc-blocking") && !s.name().contains("-vt");
    }

    /**
     * Prints the targets (a header, then one line per target and C, or one "not measured" line;
     * {@code rounds} only for the header)
     * and returns them as JSON: per line {@code callers} (null when not measured), {@code check},
     * {@code tidewire}, {@code peer}, {@code figure}, {@code goal}, {@code value} (Tidewire's figure
     * / the peer's), {@code tidewireValue}, {@code peerValue}, {@code met} (null when not measured)
     * and {@code status} ({@code met}, {@code NOT met} or {@code not measured}, with a
     * {@code reason}).
     */
    static ArrayNode check(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems, List<Integer> callers,
            int rounds, PrintStream out) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        out.printf("%nissue 15 targets (%sclient CPU per call includes the tool's load generator)%n",
                rounds > 1 ? "medians of " + rounds + " rounds; " : "");
        for (Target t : TARGETS) {
            int lines = 0;
            Map<Integer, Cell> tw = table.getOrDefault(t.tidewire(), Map.of());
            for (int c : callers) {
                Cell x = tw.get(c);
                String peer = t.pick() == null ? t.peer() : best(table, systems, t.pick(), t.figure(), c);
                Cell y = peer == null ? null : table.getOrDefault(peer, Map.of()).get(c);
                if (x == null || y == null || Double.isNaN(t.figure().of(x)) || Double.isNaN(t.figure().of(y))) {
                    continue;
                }
                double value = ratio(t.figure().of(x), t.figure().of(y));
                boolean met = t.figure().atLeast ? value >= t.goal() : value <= t.goal();
                ObjectNode o = entry(a, t, c, peer);
                Spread.put(o, "value", value, 3);
                Spread.put(o, "tidewireValue", t.figure().of(x), 3);
                Spread.put(o, "peerValue", t.figure().of(y), 3);
                o.put("met", met);
                o.put("status", met ? "met" : "NOT met");
                out.printf("   C=%-4d %-52s %-20s vs %-24s %6.2fx  %s%n", c, t.check(), t.tidewire(), peer, value,
                        met ? "met" : "NOT met");
                lines++;
            }
            if (lines == 0) {
                String reason = reason(table, systems, t);
                ObjectNode o = entry(a, t, null, t.pick() == null ? t.peer() : null);
                o.putNull("value");
                o.putNull("met");
                o.put("status", "not measured");
                o.put("reason", reason);
                out.printf("   %-6s %-52s %-20s not measured: %s%n", "-", t.check(), t.tidewire(), reason);
            }
        }
        return a;
    }

    private static ObjectNode entry(ArrayNode a, Target t, Integer c, String peer) {
        ObjectNode o = a.addObject();
        if (c == null) {
            o.putNull("callers");
        } else {
            o.put("callers", c);
        }
        o.put("check", t.check());
        o.put("tidewire", t.tidewire());
        if (peer == null) {
            o.putNull("peer");
        } else {
            o.put("peer", peer);
        }
        o.put("figure", t.figure().json);
        o.put("goal", t.goal());
        return o;
    }

    /** Why a target has no line: which of its systems did not run, or that the figure was unavailable. */
    private static String reason(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems, Target t) {
        boolean twRan = ran(table, t.tidewire());
        boolean peerRan = t.pick() == null ? ran(table, t.peer())
                : systems.stream().filter(t.pick()).anyMatch(s -> ran(table, s.name()));
        if (!twRan && !peerRan) {
            return t.tidewire() + " and " + t.peer() + " did not run";
        }
        if (!twRan || !peerRan) {
            return (twRan ? t.peer() : t.tidewire()) + " did not run";
        }
        return t.figure() == Figure.CLIENT_CPU ? "client CPU time unavailable" : "no C where both ran";
    }

    private static boolean ran(Map<String, Map<Integer, Cell>> table, String system) {
        return !table.getOrDefault(system, Map.of()).isEmpty();
    }

    /** Of the systems {@code pick} accepts, the one with the best {@code figure} at {@code c}; null if none ran. */
    static String best(Map<String, Map<Integer, Cell>> table, List<SystemUnderTest> systems,
            Predicate<SystemUnderTest> pick, Figure figure, int c) {
        String best = null;
        double bestValue = Double.NaN;
        for (SystemUnderTest s : systems) {
            Cell cell = pick.test(s) ? table.getOrDefault(s.name(), Map.of()).get(c) : null;
            double v = cell == null ? Double.NaN : figure.of(cell);
            if (!Double.isNaN(v) && (best == null || (figure.atLeast ? v > bestValue : v < bestValue))) {
                best = s.name();
                bestValue = v;
            }
        }
        return best;
    }

    private static double ratio(double a, double b) {
        return b == 0 ? Double.NaN : a / b;
    }
}
