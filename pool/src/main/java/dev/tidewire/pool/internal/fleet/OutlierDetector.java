package dev.tidewire.pool.internal.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Ejects endpoints that fail, as gRPC's outlier detection and Finagle's failure accrual do, in two
 * ways:
 * <ul>
 * <li><b>Consecutive connection failures</b>: {@code consecutiveFailures} failed connects or lost
 *     connections in a row eject the endpoint at once ({@link #onConnectionFailure}).</li>
 * <li><b>Success rate</b>: every interval ({@link #evaluate}), an endpoint with at least
 *     {@code minVolume} counted outcomes since it was last judged (over up to
 *     {@link #MAX_WINDOW_INTERVALS} intervals) whose success rate is below
 *     {@code successRateRatio} times the rest of the fleet's is ejected.</li>
 * </ul>
 * An ejection lasts {@code baseEjection × 2^(k-1)} for the endpoint's k-th ejection in a run
 * (capped at {@code maxEjection}), times a random factor in [0.8, 1.2) so ejected endpoints do not
 * all return at one instant; a run ends when the endpoint stays in service for four times its last
 * ejection. Never more than {@code maxEjectedShare} of the fleet is ejected at once (rounded down;
 * one endpoint alone is never ejected). Decisions are synchronized on the detector (they are rare);
 * recording outcomes is not ({@link EndpointHealth}).
 *
 * @param consecutiveFailures connection failures in a row that eject
 * @param minVolume           outcomes in an interval below which the success rate is not judged
 * @param successRateRatio    eject below this share of the rest of the fleet's success rate
 * @param baseEjectionNanos   first ejection's length
 * @param maxEjectionNanos    longest ejection
 * @param maxEjectedShare     most of the fleet ejected at once, 0..1
 * @param slowStartNanos      ramp after an ejection ends
 */
public record OutlierDetector(int consecutiveFailures, int minVolume, double successRateRatio, long baseEjectionNanos,
        long maxEjectionNanos, double maxEjectedShare, long slowStartNanos) {

    /** Why an endpoint was ejected. */
    public enum Reason {
        /** A run of failed connects or lost connections. */
        CONSECUTIVE_FAILURES,
        /** A success rate far below the rest of the fleet's. */
        SUCCESS_RATE
    }

    /** An ejection the detector made: the endpoint, why, and for how long. */
    public record Ejection(EndpointHealth endpoint, Reason reason, long nanos) {
    }

    /**
     * Called after a connection failure was recorded: ejects {@code endpoint} if that made its run
     * reach {@code consecutiveFailures} and the fleet allows one more ejection.
     *
     * @return the ejection, or null
     */
    public synchronized Ejection onConnectionFailure(EndpointHealth endpoint, int run, List<EndpointHealth> fleet,
            long now, RandomGenerator random) {
        if (run < consecutiveFailures || endpoint.ejected(now, slowStartNanos) || !roomToEject(fleet, now)) {
            return null;
        }
        return eject(endpoint, Reason.CONSECUTIVE_FAILURES, now, random);
    }

    /**
     * Intervals an endpoint's outcomes may accumulate over while fewer than {@code minVolume}: a
     * client that sends an endpoint a call every few seconds still has its success rate judged,
     * over up to a minute at the default interval, instead of never.
     */
    public static final int MAX_WINDOW_INTERVALS = 60;

    /**
     * The end of an interval: judges the success rate of each endpoint whose outcomes since its
     * last judgement reach {@code minVolume} (accumulated over up to {@link #MAX_WINDOW_INTERVALS}
     * intervals) against the rest of the fleet's over their current counts, ejects outliers (worst
     * first, while the fleet allows), and starts new counts for the endpoints judged.
     *
     * @return the ejections made (often none)
     */
    public synchronized List<Ejection> evaluate(List<EndpointHealth> fleet, long now, RandomGenerator random) {
        int n = fleet.size();
        long[][] counts = new long[n][];
        long allSuccesses = 0;
        long allVolume = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = fleet.get(i).counts();
            allSuccesses += counts[i][0];
            allVolume += counts[i][0] + counts[i][1];
        }
        List<Ejection> ejected = new ArrayList<>(0);
        List<Integer> outliers = new ArrayList<>();
        double[] rate = new double[n];
        for (int i = 0; i < n; i++) {
            EndpointHealth h = fleet.get(i);
            h.window++;
            long volume = counts[i][0] + counts[i][1];
            if (volume < minVolume) {
                if (h.window >= MAX_WINDOW_INTERVALS) {
                    h.resetCounts(); // too few to judge even over the longest window: start again
                }
                continue;
            }
            h.resetCounts();
            long othersVolume = allVolume - volume;
            if (n < 2 || othersVolume < minVolume) {
                continue;
            }
            rate[i] = (double) counts[i][0] / volume;
            double others = (double) (allSuccesses - counts[i][0]) / othersVolume;
            if (rate[i] < successRateRatio * others) {
                outliers.add(i);
            }
        }
        outliers.sort((a, b) -> Double.compare(rate[a], rate[b]));
        for (int i : outliers) {
            EndpointHealth h = fleet.get(i);
            if (!h.ejected(now, slowStartNanos) && roomToEject(fleet, now)) {
                Ejection e = eject(h, Reason.SUCCESS_RATE, now, random);
                if (e != null) {
                    ejected.add(e);
                }
            }
        }
        return ejected;
    }

    private boolean roomToEject(List<EndpointHealth> fleet, long now) {
        int ejectedNow = 0;
        for (EndpointHealth h : fleet) {
            if (h.ejected(now, slowStartNanos)) {
                ejectedNow++;
            }
        }
        return ejectedNow + 1 <= (int) Math.floor(maxEjectedShare * fleet.size());
    }

    private Ejection eject(EndpointHealth h, Reason reason, long now, RandomGenerator random) {
        long last = nominal(h.ejections);
        if (h.ejections > 0 && now - h.returnedNanos() > 4 * last) {
            h.ejections = 0; // in service long enough: the run is over
        }
        h.ejections++;
        long nanos = (long) (nominal(h.ejections) * (0.8 + 0.4 * random.nextDouble()));
        if (!h.eject(now + nanos)) {
            h.ejections--;
            return null;
        }
        synchronized (h) {
            h.totalEjections++;
        }
        return new Ejection(h, reason, nanos);
    }

    private long nominal(int k) {
        if (k <= 0) {
            return 0;
        }
        return Math.min(maxEjectionNanos, baseEjectionNanos << Math.min(20, k - 1));
    }
}
