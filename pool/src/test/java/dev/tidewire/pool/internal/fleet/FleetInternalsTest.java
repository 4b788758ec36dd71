package dev.tidewire.pool.internal.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Balancing and ejection in virtual time: the decisions the client and the simulation share. */
class FleetInternalsTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long S = TimeUnit.SECONDS.toNanos(1);
    private static final OutlierDetector DETECTOR = new OutlierDetector(5, 10, 0.75, 10 * S, 300 * S, 0.5, 10 * S);

    /** A member whose readiness the test sets. */
    static final class M implements Candidates.Member {
        final EndpointHealth health;
        boolean ready = true;

        M(int priority, int weight) {
            health = new EndpointHealth(new EndpointLoad(priority, weight, MS, 0));
        }

        @Override
        public EndpointHealth health() {
            return health;
        }

        @Override
        public boolean ready() {
            return ready;
        }
    }

    private static List<M> fleet(int n) {
        List<M> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(new M(0, 1));
        }
        return all;
    }

    private static List<EndpointHealth> health(List<M> members) {
        return members.stream().map(M::health).toList();
    }

    @Test
    void thePeakEwmaJumpsToASlowSampleAndDecaysAfterFastOnes() {
        EndpointLoad load = new EndpointLoad(0, 1, MS, 0);
        load.begin();
        load.end(50 * MS, S);
        assertEquals(50 * MS, load.latencyNanos(), 1, "a slower sample replaces the average at once");
        load.begin();
        load.end(MS, S + S / 10); // 0.1 s later: weight of the old value exp(-0.1)
        double expected = 50 * MS * Math.exp(-0.1) + MS * (1 - Math.exp(-0.1));
        assertEquals(expected, load.latencyNanos(), 1);
        load.begin();
        load.end(-1, 3 * S);
        assertEquals(expected, load.latencyNanos(), 1, "no sample: unchanged");
        assertEquals(0, load.inFlight());
        // read 2 s after the last sample: the cost has decayed by exp(-2) (an idle endpoint is tried again)
        assertEquals(expected * Math.exp(-2 * S / (double) EndpointLoad.DECAY_NANOS), load.cost(S + S / 10 + 2 * S), 1);
    }

    @Test
    void costIsLatencyTimesQueueAndSlowStartRampsTheWarmth() {
        EndpointLoad a = new EndpointLoad(0, 1, 2 * MS, 0);
        a.begin();
        a.begin();
        assertEquals(6 * MS, a.cost(0), 1);
        assertEquals(6 * MS * Math.exp(-1), a.cost(EndpointLoad.DECAY_NANOS), 1);
        EndpointLoad b = new EndpointLoad(0, 4, 2 * MS, 0);
        b.warmUp(0, 10 * S);
        assertEquals(0.1, b.warmth(0), 1e-9, "a tenth at the start of slow start");
        assertEquals(0.55, b.warmth(5 * S), 1e-9, "halfway: 0.1 + 0.9 x 0.5");
        assertEquals(1, b.warmth(10 * S), 1e-9, "warm");
    }

    @Test
    void aWarmingEndpointIsDrawnLessOften() {
        List<M> all = fleet(2);
        all.get(1).health.load().warmUp(0, 10 * S);
        SplittableRandom random = new SplittableRandom(5);
        int warming = 0;
        for (int i = 0; i < 20_000; i++) {
            warming += Balancer.LEAST_LOADED.pick(all, 0, random);
        }
        double share = warming / 20_000.0;
        assertTrue(share > 0.05 && share < 0.15, "a tenth of a share: " + share);
    }

    @Test
    void twoChoicesPickTheCheaperAndNeverTheSameTwice() {
        List<M> all = fleet(2);
        all.get(0).health.load().begin(); // endpoint 0 busier: cost 3 against 1, beyond the tolerance
        all.get(0).health.load().begin();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 100; i++) {
            assertEquals(1, Balancer.LEAST_LOADED.pick(all, 0, random));
        }
        assertEquals(0, Balancer.LEAST_LOADED.pick(all.subList(0, 1), 0, random));
        // within the tolerance (cost 2 against 1: not below half) the first draw decides: about even
        List<M> near = fleet(2);
        near.get(0).health.load().begin();
        int zero = 0;
        for (int i = 0; i < 10_000; i++) {
            zero += Balancer.LEAST_LOADED.pick(near, 0, random) == 0 ? 1 : 0;
        }
        assertTrue(zero > 4_500 && zero < 5_500, "picks of the busier one " + zero);
        Balancer rr = Balancer.roundRobin();
        List<M> three = fleet(3);
        int first = rr.pick(three, 0, random); // at a random place, then in turn
        assertEquals(List.of((first + 1) % 3, (first + 2) % 3, first), List.of(rr.pick(three, 0, random),
                rr.pick(three, 0, random), rr.pick(three, 0, random)));
    }

    @Test
    void weightsSplitLightLoadInProportion() {
        List<M> all = List.of(new M(0, 1), new M(0, 3));
        SplittableRandom random = new SplittableRandom(11);
        int[] picks = new int[2];
        for (int i = 0; i < 40_000; i++) {
            picks[Balancer.LEAST_LOADED.pick(all, 0, random)]++;
        }
        double heavy = picks[1] / 40_000.0;
        assertTrue(heavy > 0.70 && heavy < 0.80, "weight 3 of 4 took " + heavy);
    }

    @Test
    void consecutiveConnectionFailuresEjectButNeverMoreThanTheShare() {
        List<M> all = fleet(3);
        SplittableRandom random = new SplittableRandom(1);
        M first = all.get(0);
        for (int i = 1; i <= 4; i++) {
            assertNull(DETECTOR.onConnectionFailure(first.health, first.health.connectionFailure(), health(all), 0, random));
        }
        OutlierDetector.Ejection e = DETECTOR.onConnectionFailure(first.health, first.health.connectionFailure(),
                health(all), 0, random);
        assertNotNull(e);
        assertSame(OutlierDetector.Reason.CONSECUTIVE_FAILURES, e.reason());
        assertTrue(e.nanos() >= 8 * S && e.nanos() < 12 * S, "10 s +-20 %: " + e.nanos());
        assertTrue(first.health.ejected(S, 10 * S));
        M second = all.get(1);
        for (int i = 0; i < 10; i++) {
            assertNull(DETECTOR.onConnectionFailure(second.health, second.health.connectionFailure(), health(all), 0,
                    random), "a fleet of three ejects at most one (50 %, rounded down)");
        }
        // the ejection ends on time, and the endpoint starts its slow start
        assertFalse(first.health.ejected(e.nanos(), 10 * S));
        assertEquals(0.1, first.health.load().warmth(e.nanos()), 1e-9);
    }

    @Test
    void aFleetOfOneIsNeverEjected() {
        List<M> one = fleet(1);
        EndpointHealth h = one.get(0).health;
        for (int i = 0; i < 20; i++) {
            assertNull(DETECTOR.onConnectionFailure(h, h.connectionFailure(), health(one), 0, new SplittableRandom(2)));
        }
    }

    @Test
    void aSuccessRateFarBelowTheRestEjectsAndRepeatedEjectionsGrow() {
        List<M> all = fleet(4);
        SplittableRandom random = new SplittableRandom(3);
        long now = 0;
        long previous = 0;
        for (int round = 1; round <= 3; round++) {
            for (M m : all) {
                for (int i = 0; i < 20; i++) {
                    m.health.success();
                }
            }
            for (int i = 0; i < 30; i++) {
                all.get(3).health.failure(); // 20 of 50: 40 % success against 100 %
            }
            List<OutlierDetector.Ejection> ejected = DETECTOR.evaluate(health(all), now, random);
            assertEquals(1, ejected.size(), "round " + round);
            assertSame(all.get(3).health, ejected.get(0).endpoint());
            long nominal = 10 * S << (round - 1);
            assertTrue(ejected.get(0).nanos() >= 0.8 * nominal && ejected.get(0).nanos() < 1.2 * nominal,
                    "ejection " + round + " lasts about " + nominal);
            assertTrue(ejected.get(0).nanos() > previous * 1.3 || round == 1, "growing");
            previous = ejected.get(0).nanos();
            now += ejected.get(0).nanos();
            assertFalse(all.get(3).health.ejected(now, 10 * S)); // back, and failing again at once
        }
        // a fleet failing evenly ejects nobody
        for (M m : all) {
            for (int i = 0; i < 20; i++) {
                m.health.failure();
            }
            m.health.success();
        }
        assertTrue(DETECTOR.evaluate(health(all), now, random).isEmpty());
    }

    @Test
    void candidatesPreferHealthyLowPriorityThenUntriedThenAnyThing() {
        M a = new M(0, 1);
        M b = new M(0, 1);
        M backup = new M(1, 1);
        List<M> all = List.of(a, b, backup);
        assertEquals(List.of(a, b), Candidates.select(all, null, 0, 0));
        a.ready = false;
        assertEquals(List.of(b), Candidates.select(all, null, 0, 0));
        b.ready = false;
        assertEquals(List.of(backup), Candidates.select(all, null, 0, 0), "the next priority when none is healthy");
        backup.ready = false;
        assertEquals(all, Candidates.select(all, null, 0, 0), "none ready: any not ejected (they connect)");
        a.ready = b.ready = backup.ready = true;
        assertEquals(List.of(b), Candidates.select(all, m -> m == a, 0, 0), "untried first");
        assertEquals(List.of(a, b), Candidates.select(all, m -> true, 0, 0), "all tried: all again");
        // every one ejected: panic mode, all of them
        OutlierDetector everything = new OutlierDetector(1, 10, 0.75, 10 * S, 300 * S, 1.0, 0);
        for (M m : all) {
            assertNotNull(everything.onConnectionFailure(m.health, m.health.connectionFailure(), health(all), 0,
                    new SplittableRandom(4)));
        }
        assertEquals(all, Candidates.select(all, null, S, 0));
    }
}
