package dev.tidewire.tool.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The open loop's verdict as a function of the figures a run measured: no run, no clock. */
class OpenLoopVerdictTest {
    private static final long MS = 1_000_000L;
    /** 10,000 calls/s for 2 s of warm-up and 3 s measured. */
    private static final double RATE = 10_000;
    private static final long PLANNED = 50_000;
    private static final long SENT_IN_WINDOW = 30_000;

    @Test
    void theLagBoundIsOneMillisecondOrOneInterSendInterval() {
        assertEquals(MS, OpenLoopVerdict.lagBoundNanos(10_000));
        assertEquals(MS, OpenLoopVerdict.lagBoundNanos(1_000));
        assertEquals(MS, OpenLoopVerdict.lagBoundNanos(1_000_000));
        assertEquals(10 * MS, OpenLoopVerdict.lagBoundNanos(100));
        assertEquals(1000 * MS, OpenLoopVerdict.lagBoundNanos(1));
    }

    @Test
    void keptUpWhenTheSendersLagStaysWithinTheBoundAndTheServerCompletesWhatWasSent() {
        OpenLoopVerdict v = verdict(stats(PLANNED, MS, 3 * MS, 0), 29_900);
        assertTrue(v.senderKeptUp() && v.serverKeptUp() && v.keptUp(), v::toString);
        assertEquals(MS, v.lagBoundNanos());
        assertTrue(v.text().startsWith("kept up: sender lag p99 1.000 ms, max 3.000 ms"), v.text());
        assertTrue(v.text().contains("bound: p99 <= 1.000 ms"), v.text());
        assertTrue(v.text().contains("completed 99.7 % of the 30,000 calls sent"), v.text());
    }

    @Test
    void aSenderFarBehindScheduleIsNotKeptUpThoughTheServerKeptPace() {
        // the run of issue 14: completions kept pace, the sender ended on time, but it was up to 912 ms late
        OpenLoopVerdict v = verdict(stats(PLANNED, 400 * MS, 912 * MS, 0), 30_000);
        assertFalse(v.keptUp(), v::toString);
        assertFalse(v.senderKeptUp(), v::toString);
        assertTrue(v.serverKeptUp(), v::toString);
        assertTrue(v.text().startsWith("sender fell behind: max lag 912 ms, lag p99 400 ms > bound 1.000 ms"), v.text());
        assertTrue(v.text().contains("server completed 100.0 %"), v.text());
    }

    @Test
    void aLagJustPastTheBoundIsBehind() {
        assertFalse(verdict(stats(PLANNED, MS + 1, MS + 1, 0), SENT_IN_WINDOW).senderKeptUp());
    }

    @Test
    void aSenderThatDidNotSendEveryPlannedCallFellBehind() {
        OpenLoopVerdict v = verdict(stats(PLANNED - 1000, MS / 10, MS / 5, 0), SENT_IN_WINDOW);
        assertFalse(v.senderKeptUp(), v::toString);
        assertTrue(v.serverKeptUp(), v::toString);
        assertTrue(v.text().startsWith("sender fell behind: sent 49,000 of 50,000 planned calls"), v.text());
        assertFalse(v.text().contains("> bound"), () -> "the lag was within its bound: " + v.text());
    }

    @Test
    void aServerCompletingTooFewOfTheCallsSentFellBehind() {
        OpenLoopVerdict v = verdict(stats(PLANNED, MS / 10, MS / 2, 0), 22_500);
        assertTrue(v.senderKeptUp(), v::toString);
        assertFalse(v.serverKeptUp(), v::toString);
        assertFalse(v.keptUp(), v::toString);
        assertTrue(v.text().startsWith("server fell behind: server completed 75.0 % of the 30,000 calls sent"), v.text());
        assertTrue(v.text().contains("sender lag p99 0.100 ms"), v.text());
        // 95 % is enough
        assertTrue(verdict(stats(PLANNED, MS / 10, MS / 2, 0), 28_500).keptUp());
    }

    @Test
    void aSenderHeldBackByTheOutstandingCapMeansTheServerFellBehind() {
        OpenLoopVerdict v = verdict(stats(PLANNED, MS / 10, MS / 2, 12), SENT_IN_WINDOW);
        assertTrue(v.senderKeptUp(), v::toString);
        assertFalse(v.serverKeptUp(), v::toString);
        assertTrue(v.text().startsWith("server fell behind: the sender waited 12 times"), v.text());
    }

    @Test
    void bothCanFallBehind() {
        OpenLoopVerdict v = verdict(stats(PLANNED, 50 * MS, 120 * MS, 0), 10_000);
        assertFalse(v.senderKeptUp() || v.serverKeptUp(), v::toString);
        assertTrue(v.text().startsWith("sender and server fell behind: max lag 120 ms, lag p99 50.0 ms"), v.text());
        assertTrue(v.text().contains("server completed 33.3 %"), v.text());
    }

    @Test
    void aLowRateAllowsALagOfOneInterval() {
        // 100 calls/s: one call every 10 ms; a p99 lag of 8 ms still sends each call before the next is due
        Result.OpenLoopStats s = new Result.OpenLoopStats(100, 500, 500, 9 * MS, 0, 8 * MS, 300, 0);
        OpenLoopVerdict v = OpenLoopVerdict.of(s, 300);
        assertTrue(v.keptUp(), v::toString);
        assertTrue(v.text().contains("bound: p99 <= 10.0 ms"), v.text());
    }

    private static Result.OpenLoopStats stats(long issued, long lagP99, long maxLag, long capWaits) {
        return new Result.OpenLoopStats(RATE, PLANNED, issued, maxLag, 0, lagP99, SENT_IN_WINDOW, capWaits);
    }

    private static OpenLoopVerdict verdict(Result.OpenLoopStats s, long completed) {
        return OpenLoopVerdict.of(s, completed);
    }
}
