package dev.tidewire.pool.internal.fleet;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Chooses the endpoint for a call among candidates the fleet has already filtered (healthy, of
 * the preferred priority). Implementations are stateless or thread-safe; the random source and
 * clock are passed in so a simulation replays the same choices.
 */
public interface Balancer {
    /**
     * The chosen candidate's index.
     *
     * @param candidates at least one
     * @param now        the clock now, nanoseconds
     */
    int pick(List<? extends Candidates.Member> candidates, long now, RandomGenerator random);

    /** The second choice must be cheaper than this share of the first's cost to be taken. */
    double TOLERANCE = 0.5;

    /**
     * Power of two choices by load (Finagle's P2C with peak EWMA): a first candidate drawn at
     * random with probability proportional to its weight times its warmth (slow start), a second
     * likewise among the others; the second is taken only if its {@link EndpointLoad#cost} is
     * below {@link #TOLERANCE} times the first's. So at light load, where costs are about equal,
     * each endpoint's share follows its weight (an SRV weight of 3 against 1 takes three quarters),
     * and once loads or latencies differ by more than a factor of 2 the cheaper endpoint wins
     * (latency estimates are noisy: a closer margin lets the noise, not the weights, decide).
     * One candidate costs nothing.
     */
    Balancer LEAST_LOADED = (candidates, now, random) -> {
        int n = candidates.size();
        if (n == 1) {
            return 0;
        }
        int a = draw(candidates, -1, now, random);
        int b = draw(candidates, a, now, random);
        return candidates.get(b).health().load().cost(now)
                < TOLERANCE * candidates.get(a).health().load().cost(now) ? b : a;
    };

    /**
     * A candidate drawn with probability proportional to weight × warmth, skipping {@code except}
     * (-1: none). Equal shares (the common case) take one random number and no scan.
     */
    private static int draw(List<? extends Candidates.Member> candidates, int except, long now, RandomGenerator random) {
        int n = candidates.size();
        double total = 0;
        double first = -1;
        boolean equal = true;
        for (int i = 0; i < n; i++) {
            if (i == except) {
                continue;
            }
            EndpointLoad load = candidates.get(i).health().load();
            double share = load.weight() * load.warmth(now);
            if (first < 0) {
                first = share;
            } else if (share != first) {
                equal = false;
            }
            total += share;
        }
        if (equal) {
            int k = random.nextInt(except < 0 ? n : n - 1);
            return except >= 0 && k >= except ? k + 1 : k;
        }
        double x = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (i == except) {
                continue;
            }
            EndpointLoad load = candidates.get(i).health().load();
            x -= load.weight() * load.warmth(now);
            last = i;
            if (x < 0) {
                return i;
            }
        }
        return last; // rounding
    }

    /**
     * Round-robin, weight and load ignored: the baseline the simulation compares against. The first
     * pick is at a random place (drawn from the {@code random} it is given), so balancers created
     * together do not visit the endpoints in step.
     */
    static Balancer roundRobin() {
        java.util.concurrent.atomic.AtomicLong next = new java.util.concurrent.atomic.AtomicLong(-1); // -1: no pick yet
        return (candidates, now, random) -> {
            long i = next.getAndIncrement();
            if (i < 0) {
                i = random.nextInt(candidates.size());
                next.getAndAdd(i + 1);
            }
            return (int) Math.floorMod(i, (long) candidates.size());
        };
    }
}
