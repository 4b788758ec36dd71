package dev.tidewire.transport.internal;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Logs a failure that can repeat without end (a connect refused every few hundred milliseconds, a
 * peer that breaks every connection it opens, a timer task that throws every tick) as a few lines,
 * not a line per repeat. Each failure has a kind, its key (for example
 * {@code "connect to /10.0.0.7:7000"}):
 * <ul>
 *   <li>the first failure of a kind is written at the level its site gives (WARNING or ERROR);</li>
 *   <li>a repeat within {@link #WINDOW} of the last line written at that level goes to DEBUG only,
 *       and is counted;</li>
 *   <li>the first repeat after the window is written at the level again, as one summary:
 *       {@code "<key> failed N more times in the last 31 s (last: <its message>)"};</li>
 *   <li>{@link #recovered} ends the failure (a connect succeeded): one INFO line
 *       {@code "<what> again after N failed attempts over 4.2 s"} if the failure was written at its
 *       level, DEBUG otherwise. Failures that come back within the window of the last line written
 *       are counted, not written: a peer that flaps between failing and working makes at most one
 *       line at the level and one INFO line per window.</li>
 * </ul>
 *
 * <p>At most {@link #MAX_KINDS} kinds are tracked, so keys a peer can vary (its address) cannot
 * grow memory: when the table is full, kinds quiet for a window are forgotten, and if none is,
 * further kinds share one entry. Keys should still be few: an address, or a fixed site name.
 *
 * <p>Threads: any; a short monitor guards the table, and lines are written outside it. A message
 * is built only if its line is written. The clock is injected, so tests need no sleeping.
 */
public final class RateLimitedLog {
    /** How long repeats of a failure are counted instead of written at its level: 30 s. */
    public static final Duration WINDOW = Duration.ofSeconds(30);
    /** Most kinds of failure tracked at once: 1,024. */
    public static final int MAX_KINDS = 1024;
    private static final String OVERFLOW = "failures of kinds beyond the " + MAX_KINDS + " tracked";

    private final System.Logger log;
    private final LongSupplier clock;
    private final long windowNanos;
    private final int maxKinds;
    private final Map<String, Kind> kinds = new HashMap<>(); // guarded by this; at most maxKinds + 1 (OVERFLOW)

    /** One kind of failure. Guarded by the log's monitor. */
    private static final class Kind {
        final String key;
        boolean written;         // a line at the level was written (lastWrittenNanos is valid)
        long lastWrittenNanos;
        long lastSeenNanos;
        long unwritten;          // failures since the last line at the level, not written at it
        boolean failing;         // a run of failures, not yet recovered
        long runStartNanos;
        long runFailures;
        boolean runAnnounced;    // this run was written at its level

        Kind(String key) {
            this.key = key;
        }
    }

    /**
     * A log for {@code log}'s lines on {@link System#nanoTime()}, with the 30 s window.
     *
     * @param log where lines go
     */
    public RateLimitedLog(System.Logger log) {
        this(log, System::nanoTime, WINDOW, MAX_KINDS);
    }

    /**
     * A log with its own clock, window and table size (for tests).
     *
     * @param log      where lines go
     * @param clock    nanoseconds, as {@link System#nanoTime()}
     * @param window   how long repeats are counted rather than written, &gt; 0
     * @param maxKinds most kinds tracked, &gt;= 1
     */
    public RateLimitedLog(System.Logger log, LongSupplier clock, Duration window, int maxKinds) {
        this.log = Objects.requireNonNull(log, "log");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.windowNanos = window.toNanos();
        if (windowNanos <= 0 || maxKinds < 1) {
            throw new IllegalArgumentException("window must be > 0 and maxKinds >= 1, got " + window + ", " + maxKinds);
        }
        this.maxKinds = maxKinds;
    }

    /**
     * A failure of kind {@code key}: written at {@code level} if it is the first of its kind or
     * the window since the kind's last line has passed (then as a summary of the repeats between),
     * otherwise at DEBUG.
     *
     * @param level   the level of the lines written for this kind: WARNING or ERROR
     * @param key     the kind, which also begins the summary line ({@code "connect to /10.0.0.7:7000"})
     * @param message the failure's own line, built only if a line is written
     * @param thrown  attached to the line written, or null
     */
    public void failure(Level level, String key, Supplier<String> message, Throwable thrown) {
        long now = clock.getAsLong();
        long repeats;
        long sinceNanos;
        String summaryKey;
        synchronized (this) {
            Kind k = kind(key, now);
            k.lastSeenNanos = now;
            if (!k.failing) {
                k.failing = true;
                k.runStartNanos = now;
                k.runFailures = 0;
                k.runAnnounced = false;
            }
            k.runFailures++;
            if (k.written && now - k.lastWrittenNanos < windowNanos) {
                k.unwritten++;
                repeats = -1;
                sinceNanos = 0;
            } else {
                repeats = k.unwritten;
                sinceNanos = now - k.lastWrittenNanos;
                k.unwritten = 0;
                k.written = true;
                k.lastWrittenNanos = now;
                k.runAnnounced = true;
            }
            summaryKey = k.key;
        }
        if (repeats < 0) {
            if (log.isLoggable(Level.DEBUG)) {
                log.log(Level.DEBUG, message.get() + " (a repeat: " + level.getName() + " lines for this are limited to"
                        + " one per " + duration(windowNanos) + ")", thrown);
            }
        } else if (log.isLoggable(level)) {
            long seconds = TimeUnit.NANOSECONDS.toSeconds(sinceNanos + 500_000_000L); // rounded
            log.log(level, repeats == 0 ? message.get() : summaryKey + " failed " + (repeats + 1)
                    + " more times in the last " + seconds + " s (last: " + message.get() + ")", thrown);
        }
    }

    /**
     * Failures of kind {@code key} are expected for a while (the peer announced that it is going
     * away): those within the window from now are counted and written at DEBUG; if they are still
     * happening after it, the summary is written at their level.
     *
     * @param key the kind
     */
    public void expect(String key) {
        long now = clock.getAsLong();
        synchronized (this) {
            Kind k = kind(key, now);
            k.written = true; // as if a line had been written now: the window counts from here
            k.lastWrittenNanos = now;
            k.lastSeenNanos = now;
            k.unwritten = 0;
        }
    }

    /**
     * The failure of kind {@code key} is over: writes {@code "<what> again after N failed attempts
     * over T"} at INFO if the failure was written at its level, at DEBUG if it was not, and nothing
     * if the kind was not failing.
     *
     * @param key  the kind
     * @param what the success, for example {@code "connected to /10.0.0.7:7000"}
     * @return whether the kind was failing
     */
    public boolean recovered(String key, String what) {
        long now = clock.getAsLong();
        long failures;
        long span;
        boolean announced;
        synchronized (this) {
            Kind k = kinds.get(key);
            if (k == null || !k.failing) {
                return false;
            }
            k.failing = false;
            failures = k.runFailures;
            span = now - k.runStartNanos;
            announced = k.runAnnounced;
            if (announced) {
                k.unwritten = 0; // the INFO line accounts for them
            }
        }
        Level level = announced ? Level.INFO : Level.DEBUG;
        if (log.isLoggable(level)) {
            log.log(level, what + " again after " + failures + " failed attempt" + (failures == 1 ? "" : "s") + " over "
                    + duration(span));
        }
        return true;
    }

    /**
     * Failures of kind {@code key} in its current run; for tests and stats.
     *
     * @param key the kind
     * @return failures since the kind began failing, 0 if it is not failing
     */
    public synchronized long failures(String key) {
        Kind k = kinds.get(key);
        return k == null || !k.failing ? 0 : k.runFailures;
    }

    /**
     * Kinds tracked now; for tests.
     *
     * @return the size of the table of kinds
     */
    public synchronized int kinds() {
        return kinds.size();
    }

    // guarded by this
    private Kind kind(String key, long now) {
        Kind k = kinds.get(key);
        if (k != null) {
            return k;
        }
        if (kinds.size() >= maxKinds) {
            kinds.values().removeIf(old -> now - old.lastSeenNanos >= windowNanos
                    && (!old.written || now - old.lastWrittenNanos >= windowNanos));
            if (kinds.size() >= maxKinds) {
                return kinds.computeIfAbsent(OVERFLOW, Kind::new); // the one entry beyond maxKinds
            }
        }
        k = new Kind(key);
        kinds.put(key, k);
        return k;
    }

    /** {@code 250 ms}, {@code 4.2 s}, {@code 3 min 5 s}. */
    static String duration(long nanos) {
        if (nanos < TimeUnit.SECONDS.toNanos(1)) {
            return TimeUnit.NANOSECONDS.toMillis(nanos) + " ms";
        }
        if (nanos < TimeUnit.MINUTES.toNanos(1)) {
            double s = nanos / 1e9;
            return s == Math.rint(s) ? (long) s + " s" : String.format(Locale.ROOT, "%.1f s", s);
        }
        long s = TimeUnit.NANOSECONDS.toSeconds(nanos);
        return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
    }
}
