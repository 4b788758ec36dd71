package dev.tidewire.pool.internal.fleet;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the balancer knows of one endpoint: calls in flight, a peak-sensitive moving average of
 * their latency (Finagle's peak EWMA), its weight and how far it is through slow start.
 *
 * <p>Time is passed in (nanoseconds of any monotonic clock), so the fleet simulation drives the
 * same class with virtual time. Thread-safe: {@link #inFlight} is atomic; the average is two
 * volatile fields updated without a lock, so two calls ending at the same instant may lose one
 * sample (the average is an estimate; a lock here would be the one contended write of every call).
 */
public final class EndpointLoad {
    /**
     * Time constant of the latency average after a reply: a sample's weight halves in about 0.7 s,
     * and an endpoint that receives no calls sees its average fall by the same law. Short, so that
     * a brief spike (a JIT warm-up, a GC pause) stops diverting calls within a second or two, while
     * a slow endpoint's every new reply restores its cost.
     */
    public static final long DECAY_NANOS = 1_000_000_000L;
    /**
     * Time constant after a failure (a timeout, a lost connection): 10 s, Finagle's. A failure is
     * strong evidence; an endpoint that answers nothing is tried again only after its cost has
     * decayed for several seconds, not every second.
     */
    public static final long FAILURE_DECAY_NANOS = 10_000_000_000L;
    /** Share of a full weight an endpoint gets at the start of its slow start. */
    static final double WARMTH_FLOOR = 0.1;

    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile double weight;
    private volatile int priority;
    private volatile double latencyNanos;
    private volatile long stampNanos;
    private volatile long decayNanos = DECAY_NANOS;
    private volatile long warmFromNanos;
    private volatile long warmNanos; // 0: fully warm

    /**
     * @param priority      lower preferred (SRV priority)
     * @param weight        relative share (SRV weight; 0 is taken as 1/100 of 1)
     * @param initialNanos  latency assumed before the first sample (e.g. the fleet's current average)
     * @param now           the clock now
     */
    public EndpointLoad(int priority, int weight, double initialNanos, long now) {
        this.priority = priority;
        this.weight = weight == 0 ? 0.01 : weight;
        this.latencyNanos = Math.max(1, initialNanos);
        this.stampNanos = now;
    }

    /** The endpoint's priority or weight changed (a new SRV answer). */
    public void reweigh(int priority, int weight) {
        this.priority = priority;
        this.weight = weight == 0 ? 0.01 : weight;
    }

    /** Starts slow start: for {@code durationNanos} from {@code now} the endpoint's share ramps up from a tenth. */
    public void warmUp(long now, long durationNanos) {
        warmFromNanos = now;
        warmNanos = Math.max(0, durationNanos);
    }

    /** A call starts on this endpoint. */
    public void begin() {
        inFlight.incrementAndGet();
    }

    /**
     * A call that {@link #begin began} ends. {@code latencyNanos} (how long the server took; -1:
     * no sample, for answers that say nothing of the server's speed, such as a refusal before
     * sending) feeds the average: a sample above it replaces it at once (peak), a lower one pulls
     * it down with the decay of the time since the last sample.
     */
    public void end(long latencyNanos, long now) {
        end(latencyNanos, now, false);
    }

    /**
     * As {@link #end(long, long)}; {@code failed} for a sample that is a failure (a timeout, a lost
     * connection), after which the average decays with {@link #FAILURE_DECAY_NANOS}.
     */
    public void end(long latencyNanos, long now, boolean failed) {
        inFlight.decrementAndGet();
        if (latencyNanos >= 0) {
            sample(latencyNanos, now, failed);
        }
    }

    void sample(long rtt, long now, boolean failed) {
        double current = latencyNanos;
        long elapsed = Math.max(0, now - stampNanos);
        stampNanos = now;
        if (rtt > current) {
            latencyNanos = rtt;
        } else {
            double w = Math.exp(-(double) elapsed / decayNanos);
            latencyNanos = Math.max(1, current * w + rtt * (1 - w));
        }
        decayNanos = failed ? FAILURE_DECAY_NANOS : DECAY_NANOS;
    }

    /** Calls in flight. */
    public int inFlight() {
        return inFlight.get();
    }

    /** The latency average, nanoseconds. */
    public double latencyNanos() {
        return latencyNanos;
    }

    /** SRV priority. */
    public int priority() {
        return priority;
    }

    /** Relative weight (0 read as 0.01). */
    public double weight() {
        return weight;
    }

    /** Share of its full weight the endpoint has now: a tenth at the start of slow start, rising linearly to 1. */
    public double warmth(long now) {
        long span = warmNanos;
        if (span == 0) {
            return 1;
        }
        long into = now - warmFromNanos;
        if (into >= span) {
            warmNanos = 0;
            return 1;
        }
        return WARMTH_FLOOR + (1 - WARMTH_FLOOR) * Math.max(0, into) / span;
    }

    /**
     * The balancer's cost of sending one more call here: expected latency times the calls it would
     * queue behind, {@code latency × (inFlight + 1)}, the latency decayed for the time since its
     * last sample (as Finagle's peak EWMA does on read, so an endpoint that stopped receiving calls
     * after a slow reply is tried again). Lower is better. (Weight and slow start act on how often
     * the endpoint is drawn as a candidate: {@link Balancer#LEAST_LOADED}.)
     */
    public double cost(long now) {
        double latency = latencyNanos;
        long idle = now - stampNanos;
        if (idle > 0) {
            latency *= Math.exp(-(double) idle / decayNanos);
        }
        return Math.max(1, latency) * (inFlight.get() + 1);
    }
}
