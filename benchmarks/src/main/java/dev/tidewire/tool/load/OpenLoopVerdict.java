package dev.tidewire.tool.load;

import java.util.ArrayList;
import java.util.List;

/**
 * Whether an open loop kept to its schedule, and if not, which side fell behind: a pure function
 * of the figures the run measured ({@link #of}).
 *
 * <ul>
 *   <li><b>The sender</b> (this JVM: the sender thread, the client's {@code callAsync}) kept up when
 *       it sent every planned call and the 99th percentile of its lag, actual send time minus
 *       scheduled send time over the calls scheduled in the measurement window, is at most
 *       {@link #lagBoundNanos(double) max(1 ms, one inter-send interval 1/R)}. Below 1 ms the
 *       lag is timer and parking granularity (at high rates the sender sends in small bursts);
 *       a lag within one interval means each call left before the next one was due. Beyond the
 *       bound the recorded latencies (taken from the scheduled time) carry the sender's own delay.</li>
 *   <li><b>The server</b> (with the connections to it) kept up when the calls that completed in the
 *       window are at least {@value #MIN_COMPLETED_SHARE_PERCENT} % of the calls sent in it, and the
 *       sender never had to wait because {@link Runner#MAX_OUTSTANDING} calls were outstanding
 *       (then the lag is the server's backlog, not the sender's).</li>
 * </ul>
 * The run kept up only when both did.
 *
 * @param senderKeptUp   whether the sender kept to the schedule
 * @param serverKeptUp   whether the completions kept pace with the calls sent
 * @param lagBoundNanos  the bound on the sender's p99 lag at this rate
 * @param text           one line for the summary: {@code kept up: ...}, {@code sender fell behind: ...},
 *                       {@code server fell behind: ...} or {@code sender and server fell behind: ...}
 */
public record OpenLoopVerdict(boolean senderKeptUp, boolean serverKeptUp, long lagBoundNanos, String text) {
    /** The lower end of the sender's lag bound: 1 ms. */
    public static final long MIN_LAG_BOUND_NANOS = 1_000_000L;
    /** The share of the calls sent in the window that must complete in it, in percent. */
    public static final int MIN_COMPLETED_SHARE_PERCENT = 95;

    /** Whether the schedule was kept: the sender and the server both kept up. */
    public boolean keptUp() {
        return senderKeptUp && serverKeptUp;
    }

    /** The bound on the sender's p99 lag at {@code rate} calls per second: max(1 ms, 1 s / rate). */
    public static long lagBoundNanos(double rate) {
        return Math.max(MIN_LAG_BOUND_NANOS, (long) Math.ceil(1e9 / rate));
    }

    /**
     * The verdict on one open-loop run.
     *
     * @param s         what the sender measured ({@link Result.OpenLoopStats})
     * @param completed calls that completed in the measurement window ({@link Result#calls()})
     */
    public static OpenLoopVerdict of(Result.OpenLoopStats s, long completed) {
        long bound = lagBoundNanos(s.offeredRate());
        boolean allSent = s.issued() >= s.planned();
        boolean sender = allSent && s.lagP99Nanos() <= bound;
        boolean completions = completed * 100 >= (long) MIN_COMPLETED_SHARE_PERCENT * s.sentInWindow();
        boolean server = completions && s.capWaits() == 0;

        String lag = String.format("sender lag p99 %s, max %s (bound: p99 <= %s, max(1 ms, 1/rate))",
                Result.fmt(s.lagP99Nanos() / 1e6), Result.fmt(s.maxLagNanos() / 1e6), Result.fmt(bound / 1e6));
        String share = String.format("completed %s of the %,d calls sent in the window (bound: >= %d %%)",
                percent(completed, s.sentInWindow()), s.sentInWindow(), MIN_COMPLETED_SHARE_PERCENT);
        if (sender && server) {
            return new OpenLoopVerdict(true, true, bound, "kept up: " + lag + "; server " + share);
        }
        List<String> why = new ArrayList<>();
        if (!sender) {
            if (s.lagP99Nanos() > bound) {
                why.add(String.format("max lag %s, lag p99 %s > bound %s", Result.fmt(s.maxLagNanos() / 1e6),
                        Result.fmt(s.lagP99Nanos() / 1e6), Result.fmt(bound / 1e6)));
            }
            if (!allSent) {
                why.add(String.format("sent %,d of %,d planned calls", s.issued(), s.planned()));
            }
        }
        if (!server) {
            if (!completions) {
                why.add("server " + share);
            }
            if (s.capWaits() > 0) {
                why.add(String.format("the sender waited %,d times for the %,d outstanding calls to drop",
                        s.capWaits(), Runner.MAX_OUTSTANDING));
            }
        }
        String who = !sender && !server ? "sender and server fell behind" : !sender ? "sender fell behind"
                : "server fell behind";
        String kept = sender ? "; " + lag : server ? "; server " + share : "";
        return new OpenLoopVerdict(sender, server, bound, who + ": " + String.join(", ", why) + kept
                + "; latencies include the wait (measured from the scheduled send time)");
    }

    private static String percent(long part, long whole) {
        return whole == 0 ? "all" : String.format("%.1f %%", 100.0 * part / whole);
    }
}
