package dev.tidewire.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a {@link Fleet}: balancing, slow start, outlier ejection, retries across
 * endpoints and draining. Built with {@link #builder()}; every value is checked in
 * {@link Builder#build()}. docs/fleet.md explains each mechanism and when to change it.
 *
 * <pre>{@code
 * FleetOptions fleet = FleetOptions.builder().slowStart(Duration.ofSeconds(30)).maxEjectedShare(0.3).build();
 * }</pre>
 */
public final class FleetOptions {
    /** How the fleet chooses an endpoint for a call. */
    public enum Balancing {
        /** Power of two choices by load: calls in flight times a peak EWMA of latency, over weight (the default). */
        LEAST_LOADED,
        /** Each endpoint in turn, ignoring load and weight. */
        ROUND_ROBIN
    }

    /** Default balancing: {@link Balancing#LEAST_LOADED}. */
    public static final Balancing DEFAULT_BALANCING = Balancing.LEAST_LOADED;
    /** Default ramp of a new (or returning) endpoint from a tenth of its share to all of it: 10 s. */
    public static final Duration DEFAULT_SLOW_START = Duration.ofSeconds(10);
    /** Default failed connects or lost connections in a row that eject an endpoint: 5. */
    public static final int DEFAULT_CONSECUTIVE_FAILURES = 5;
    /** Default interval over which success rates are compared: 1 s. */
    public static final Duration DEFAULT_EVALUATION_INTERVAL = Duration.ofSeconds(1);
    /** Default least outcomes in an interval for an endpoint's success rate to be judged: 10. */
    public static final int DEFAULT_SUCCESS_RATE_MIN_VOLUME = 10;
    /** Default: an endpoint whose success rate is below 0.75 × the rest of the fleet's is ejected. */
    public static final double DEFAULT_SUCCESS_RATE_RATIO = 0.75;
    /** Default length of a first ejection: 10 s (doubling for each further one in a run). */
    public static final Duration DEFAULT_BASE_EJECTION_TIME = Duration.ofSeconds(10);
    /** Default longest ejection: 5 min. */
    public static final Duration DEFAULT_MAX_EJECTION_TIME = Duration.ofMinutes(5);
    /** Default most of the fleet ejected at once: 0.5 (50 %). */
    public static final double DEFAULT_MAX_EJECTED_SHARE = 0.5;
    /** Default most sends of one call across endpoints (the first included): 5. */
    public static final int DEFAULT_MAX_ATTEMPTS = 5;
    /** Default time a removed endpoint's calls get to finish before its connections close: 30 s. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final Balancing balancing;
    private final Duration slowStart;
    private final int consecutiveFailures;
    private final Duration evaluationInterval;
    private final int successRateMinVolume;
    private final double successRateRatio;
    private final Duration baseEjectionTime;
    private final Duration maxEjectionTime;
    private final double maxEjectedShare;
    private final int maxAttempts;
    private final Duration drainTimeout;

    private FleetOptions(Builder b) {
        balancing = b.balancing;
        slowStart = b.slowStart;
        consecutiveFailures = b.consecutiveFailures;
        evaluationInterval = b.evaluationInterval;
        successRateMinVolume = b.successRateMinVolume;
        successRateRatio = b.successRateRatio;
        baseEjectionTime = b.baseEjectionTime;
        maxEjectionTime = b.maxEjectionTime;
        maxEjectedShare = b.maxEjectedShare;
        maxAttempts = b.maxAttempts;
        drainTimeout = b.drainTimeout;
    }

    /** A builder with every default. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static FleetOptions defaults() {
        return builder().build();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        return new Builder().balancing(balancing).slowStart(slowStart).consecutiveFailures(consecutiveFailures)
                .evaluationInterval(evaluationInterval).successRate(successRateRatio, successRateMinVolume)
                .ejectionTime(baseEjectionTime, maxEjectionTime).maxEjectedShare(maxEjectedShare)
                .maxAttempts(maxAttempts).drainTimeout(drainTimeout);
    }

    /** How an endpoint is chosen for each call. */
    public Balancing balancing() {
        return balancing;
    }

    /** Ramp of a new or returning endpoint's share; zero: none. */
    public Duration slowStart() {
        return slowStart;
    }

    /** Failed connects or lost connections in a row that eject an endpoint. */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Interval of success-rate ejection. */
    public Duration evaluationInterval() {
        return evaluationInterval;
    }

    /** Least outcomes in an interval for an endpoint's success rate to be judged. */
    public int successRateMinVolume() {
        return successRateMinVolume;
    }

    /** Share of the rest of the fleet's success rate below which an endpoint is ejected. */
    public double successRateRatio() {
        return successRateRatio;
    }

    /** Length of an endpoint's first ejection; each further one in a run doubles it. */
    public Duration baseEjectionTime() {
        return baseEjectionTime;
    }

    /** Longest ejection. */
    public Duration maxEjectionTime() {
        return maxEjectionTime;
    }

    /** Most of the fleet ejected at once (rounded down: a fleet of one is never ejected). */
    public double maxEjectedShare() {
        return maxEjectedShare;
    }

    /** Most sends of one call across endpoints, the first included (retries and a hedge). */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** Time a removed endpoint's calls in flight get before its connections close. */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    @Override
    public String toString() {
        return "FleetOptions[balancing=" + balancing + ", slowStart=" + slowStart + ", consecutiveFailures="
                + consecutiveFailures + ", evaluationInterval=" + evaluationInterval + ", successRate=<"
                + successRateRatio + "x rest (min " + successRateMinVolume + "), ejection=" + baseEjectionTime + ".."
                + maxEjectionTime + ", maxEjectedShare=" + maxEjectedShare + ", maxAttempts=" + maxAttempts
                + ", drainTimeout=" + drainTimeout + "]";
    }

    /** Builds {@link FleetOptions}; validation happens in {@link #build()}. */
    public static final class Builder {
        private Balancing balancing = DEFAULT_BALANCING;
        private Duration slowStart = DEFAULT_SLOW_START;
        private int consecutiveFailures = DEFAULT_CONSECUTIVE_FAILURES;
        private Duration evaluationInterval = DEFAULT_EVALUATION_INTERVAL;
        private int successRateMinVolume = DEFAULT_SUCCESS_RATE_MIN_VOLUME;
        private double successRateRatio = DEFAULT_SUCCESS_RATE_RATIO;
        private Duration baseEjectionTime = DEFAULT_BASE_EJECTION_TIME;
        private Duration maxEjectionTime = DEFAULT_MAX_EJECTION_TIME;
        private double maxEjectedShare = DEFAULT_MAX_EJECTED_SHARE;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;

        private Builder() {
        }

        /** How an endpoint is chosen (default {@link Balancing#LEAST_LOADED}). */
        public Builder balancing(Balancing balancing) {
            this.balancing = balancing;
            return this;
        }

        /** Ramp of a new or returning endpoint's share, from a tenth to all of it (default 10 s; zero: none). */
        public Builder slowStart(Duration slowStart) {
            this.slowStart = slowStart;
            return this;
        }

        /** Failed connects or lost connections in a row that eject an endpoint (default 5; at least 1). */
        public Builder consecutiveFailures(int failures) {
            this.consecutiveFailures = failures;
            return this;
        }

        /** Interval over which success rates are compared (default 1 s; 100 ms to 1 h). */
        public Builder evaluationInterval(Duration interval) {
            this.evaluationInterval = interval;
            return this;
        }

        /**
         * Success-rate ejection: an endpoint with at least {@code minVolume} outcomes in an interval
         * whose success rate is below {@code ratio} times the rest of the fleet's is ejected
         * (defaults 0.75 and 10; a ratio of 0 turns it off).
         */
        public Builder successRate(double ratio, int minVolume) {
            this.successRateRatio = ratio;
            this.successRateMinVolume = minVolume;
            return this;
        }

        /** First ejection's length and the longest (defaults 10 s and 5 min). */
        public Builder ejectionTime(Duration base, Duration max) {
            this.baseEjectionTime = base;
            this.maxEjectionTime = max;
            return this;
        }

        /** Most of the fleet ejected at once, 0..1 (default 0.5; 0 turns ejection off). */
        public Builder maxEjectedShare(double share) {
            this.maxEjectedShare = share;
            return this;
        }

        /** Most sends of one call across endpoints, the first included (default 5; 1..32). */
        public Builder maxAttempts(int attempts) {
            this.maxAttempts = attempts;
            return this;
        }

        /** Time a removed endpoint's calls in flight get before its connections close (default 30 s). */
        public Builder drainTimeout(Duration timeout) {
            this.drainTimeout = timeout;
            return this;
        }

        /**
         * Checks every setting and builds.
         *
         * @throws NullPointerException     if a value is null
         * @throws IllegalArgumentException naming the setting that is out of range
         */
        public FleetOptions build() {
            Objects.requireNonNull(balancing, "balancing");
            nonNegative("slowStart", slowStart);
            positive("evaluationInterval", evaluationInterval);
            if (evaluationInterval.compareTo(Duration.ofMillis(100)) < 0 || evaluationInterval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("evaluationInterval must be 100 ms to 1 h, was " + evaluationInterval);
            }
            if (consecutiveFailures < 1) {
                throw new IllegalArgumentException("consecutiveFailures must be at least 1, was " + consecutiveFailures);
            }
            if (!(successRateRatio >= 0 && successRateRatio <= 1)) {
                throw new IllegalArgumentException("successRate ratio must be 0..1, was " + successRateRatio);
            }
            if (successRateMinVolume < 1) {
                throw new IllegalArgumentException("successRate minVolume must be at least 1, was " + successRateMinVolume);
            }
            positive("baseEjectionTime", baseEjectionTime);
            positive("maxEjectionTime", maxEjectionTime);
            if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
                throw new IllegalArgumentException("maxEjectionTime (" + maxEjectionTime
                        + ") must not be shorter than baseEjectionTime (" + baseEjectionTime + ")");
            }
            if (!(maxEjectedShare >= 0 && maxEjectedShare <= 1)) {
                throw new IllegalArgumentException("maxEjectedShare must be 0..1, was " + maxEjectedShare);
            }
            if (maxAttempts < 1 || maxAttempts > 32) {
                throw new IllegalArgumentException("maxAttempts must be 1..32, was " + maxAttempts);
            }
            nonNegative("drainTimeout", drainTimeout);
            return new FleetOptions(this);
        }

        private static void positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
        }

        private static void nonNegative(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + " must not be negative, was " + d);
            }
        }
    }
}
