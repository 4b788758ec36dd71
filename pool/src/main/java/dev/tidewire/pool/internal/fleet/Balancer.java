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

    /**
     * Power of two choices by load (Finagle's P2C with peak EWMA): two distinct candidates drawn
     * at random, the one of lower {@link EndpointLoad#cost} wins. One candidate costs nothing.
     */
    Balancer LEAST_LOADED = (candidates, now, random) -> {
        int n = candidates.size();
        if (n == 1) {
            return 0;
        }
        int a = random.nextInt(n);
        int b = random.nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        return candidates.get(a).health().load().cost(now) <= candidates.get(b).health().load().cost(now) ? a : b;
    };

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
