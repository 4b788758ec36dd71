package dev.tidewire.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a {@link ConnectionPool}, built with {@link #builder()}.
 *
 * <pre>{@code
 * PoolOptions options = PoolOptions.builder().maxConnections(4).minIdle(1).build();
 * }</pre>
 */
public final class PoolOptions {
    /** Default maximum connections: 8 (the seed's {@code size}). */
    public static final int DEFAULT_MAX_CONNECTIONS = 8;
    /** Default connections kept open even without traffic: 0. */
    public static final int DEFAULT_MIN_IDLE = 0;
    /** Default time a connection may go unused before the evictor closes it: 5 min. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /** Default time between evictor runs: 30 s. */
    public static final Duration DEFAULT_EVICTION_INTERVAL = Duration.ofSeconds(30);
    /** Default maximum connection lifetime: 30 min. */
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofMinutes(30);
    /** Default share of the lifetime taken off at random per connection: 0.1 (10 %). */
    public static final double DEFAULT_LIFETIME_JITTER = 0.1;
    /** Default first wait after a failed connect: 100 ms (then doubling, with jitter). */
    public static final Duration DEFAULT_CONNECT_BACKOFF_INITIAL = Duration.ofMillis(100);
    /** Default longest wait between connect attempts: 5 s. */
    public static final Duration DEFAULT_CONNECT_BACKOFF_MAX = Duration.ofSeconds(5);
    /** Default share of calls that may be retried: 0.2 (20 %), as Finagle's retry budget. */
    public static final double DEFAULT_RETRY_BUDGET_RATIO = 0.2;
    /** Default retries allowed each second whatever the call count: 10. */
    public static final int DEFAULT_RETRY_BUDGET_MIN_PER_SECOND = 10;

    private final int maxConnections;
    private final int minIdle;
    private final Duration idleTimeout;
    private final Duration evictionInterval;
    private final Duration maxLifetime;
    private final double lifetimeJitter;
    private final Duration connectBackoffInitial;
    private final Duration connectBackoffMax;
    private final double retryBudgetRatio;
    private final int retryBudgetMinPerSecond;

    private PoolOptions(Builder b) {
        maxConnections = b.maxConnections;
        minIdle = b.minIdle;
        idleTimeout = b.idleTimeout;
        evictionInterval = b.evictionInterval;
        maxLifetime = b.maxLifetime;
        lifetimeJitter = b.lifetimeJitter;
        connectBackoffInitial = b.connectBackoffInitial;
        connectBackoffMax = b.connectBackoffMax;
        retryBudgetRatio = b.retryBudgetRatio;
        retryBudgetMinPerSecond = b.retryBudgetMinPerSecond;
    }

    /** A builder with every default. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static PoolOptions defaults() {
        return builder().build();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        return new Builder().maxConnections(maxConnections).minIdle(minIdle).idleTimeout(idleTimeout)
                .evictionInterval(evictionInterval).maxLifetime(maxLifetime, lifetimeJitter)
                .connectBackoff(connectBackoffInitial, connectBackoffMax)
                .retryBudget(retryBudgetRatio, retryBudgetMinPerSecond);
    }

    /** Most connections open at once. */
    public int maxConnections() {
        return maxConnections;
    }

    /** Connections kept open without traffic (opened in the background from the start, and after losses). */
    public int minIdle() {
        return minIdle;
    }

    /** Unused time after which a connection with no call in flight is closed (down to {@link #minIdle()}). */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Time between evictor runs. */
    public Duration evictionInterval() {
        return evictionInterval;
    }

    /** Age after which a connection is retired (drained, then closed). */
    public Duration maxLifetime() {
        return maxLifetime;
    }

    /** Fraction of {@link #maxLifetime()} removed at random per connection, so they do not all expire together. */
    public double lifetimeJitter() {
        return lifetimeJitter;
    }

    /** First wait after a failed connect. */
    public Duration connectBackoffInitial() {
        return connectBackoffInitial;
    }

    /** Longest wait between connect attempts. */
    public Duration connectBackoffMax() {
        return connectBackoffMax;
    }

    /**
     * Retries (of calls the server certainly did not process: NOT_PROCESSED, connect failures)
     * allowed per call made, client-wide; with {@link #retryBudgetMinPerSecond()} it bounds how
     * much a refusing or unreachable server multiplies the load.
     */
    public double retryBudgetRatio() {
        return retryBudgetRatio;
    }

    /** Retries allowed each second on top of {@link #retryBudgetRatio()}. */
    public int retryBudgetMinPerSecond() {
        return retryBudgetMinPerSecond;
    }

    @Override
    public String toString() {
        return "PoolOptions[maxConnections=" + maxConnections + ", minIdle=" + minIdle + ", idleTimeout=" + idleTimeout
                + ", evictionInterval=" + evictionInterval + ", maxLifetime=" + maxLifetime + "±" + lifetimeJitter
                + ", connectBackoff=" + connectBackoffInitial + ".." + connectBackoffMax + ", retryBudget="
                + retryBudgetRatio + "+" + retryBudgetMinPerSecond + "/s]";
    }

    /** Builds {@link PoolOptions}; setters check their argument, {@link #build()} the rules across fields. */
    public static final class Builder {
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int minIdle = DEFAULT_MIN_IDLE;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private Duration evictionInterval = DEFAULT_EVICTION_INTERVAL;
        private Duration maxLifetime = DEFAULT_MAX_LIFETIME;
        private double lifetimeJitter = DEFAULT_LIFETIME_JITTER;
        private Duration connectBackoffInitial = DEFAULT_CONNECT_BACKOFF_INITIAL;
        private Duration connectBackoffMax = DEFAULT_CONNECT_BACKOFF_MAX;
        private double retryBudgetRatio = DEFAULT_RETRY_BUDGET_RATIO;
        private int retryBudgetMinPerSecond = DEFAULT_RETRY_BUDGET_MIN_PER_SECOND;

        private Builder() {
        }

        /** 1..1024; default 8. */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 1 || maxConnections > 1024) {
                throw new IllegalArgumentException("maxConnections must be in 1..1024, got " + maxConnections);
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /** 0..maxConnections; default 0. */
        public Builder minIdle(int minIdle) {
            if (minIdle < 0) {
                throw new IllegalArgumentException("minIdle must be >= 0, got " + minIdle);
            }
            this.minIdle = minIdle;
            return this;
        }

        /** &gt; 0; default 5 min. */
        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = positive("idleTimeout", idleTimeout);
            return this;
        }

        /** &gt; 0; default 30 s. */
        public Builder evictionInterval(Duration evictionInterval) {
            this.evictionInterval = positive("evictionInterval", evictionInterval);
            return this;
        }

        /** Lifetime &gt; 0 and jitter in 0..0.5; defaults 30 min and 0.1. */
        public Builder maxLifetime(Duration maxLifetime, double jitter) {
            this.maxLifetime = positive("maxLifetime", maxLifetime);
            if (!(jitter >= 0 && jitter <= 0.5)) {
                throw new IllegalArgumentException("lifetime jitter must be in 0..0.5, got " + jitter);
            }
            this.lifetimeJitter = jitter;
            return this;
        }

        /** Lifetime with the current jitter. */
        public Builder maxLifetime(Duration maxLifetime) {
            return maxLifetime(maxLifetime, lifetimeJitter);
        }

        /** First and longest wait between connect attempts after failures; both &gt; 0, initial &lt;= max. */
        public Builder connectBackoff(Duration initial, Duration max) {
            this.connectBackoffInitial = positive("connectBackoff initial", initial);
            this.connectBackoffMax = positive("connectBackoff max", max);
            return this;
        }

        /**
         * The client-wide retry budget: retries at most {@code ratio} (0..1) of the calls made plus
         * {@code minPerSecond} (0..10,000) each second; defaults 0.2 and 10. {@code (0, 0)} turns
         * retries off.
         */
        public Builder retryBudget(double ratio, int minPerSecond) {
            if (!(ratio >= 0 && ratio <= 1)) {
                throw new IllegalArgumentException("retry budget ratio must be in 0..1, got " + ratio);
            }
            if (minPerSecond < 0 || minPerSecond > 10_000) {
                throw new IllegalArgumentException("retry budget minPerSecond must be in 0..10000, got " + minPerSecond);
            }
            this.retryBudgetRatio = ratio;
            this.retryBudgetMinPerSecond = minPerSecond;
            return this;
        }

        /**
         * The options; the builder can go on being used.
         *
         * @throws IllegalArgumentException if {@code minIdle} exceeds {@code maxConnections}, or the
         *                                  initial connect backoff exceeds its maximum
         */
        public PoolOptions build() {
            if (minIdle > maxConnections) {
                throw new IllegalArgumentException("minIdle (" + minIdle + ") must not exceed maxConnections ("
                        + maxConnections + ")");
            }
            if (connectBackoffInitial.compareTo(connectBackoffMax) > 0) {
                throw new IllegalArgumentException("connectBackoff initial (" + connectBackoffInitial
                        + ") must not exceed its max (" + connectBackoffMax + ")");
            }
            return new PoolOptions(this);
        }

        private static Duration positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be > 0, got " + d);
            }
            return d;
        }
    }
}
