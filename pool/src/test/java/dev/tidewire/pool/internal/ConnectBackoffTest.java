package dev.tidewire.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The backoff schedule with plain numbers for time and a fixed "random". */
class ConnectBackoffTest {
    private static final long MS = 1_000_000;

    @Test
    void noWaitUntilAFailure() {
        ConnectBackoff b = new ConnectBackoff(100 * MS, 5000 * MS, () -> 0.5);
        assertEquals(0, b.delayNanos(0));
    }

    @Test
    void delaysDoubleUpToTheMaximumWithEqualJitter() {
        ConnectBackoff lowest = new ConnectBackoff(100 * MS, 1000 * MS, () -> 0.0);
        ConnectBackoff highest = new ConnectBackoff(100 * MS, 1000 * MS, () -> 0.999_999);
        long[] nominal = {100, 200, 400, 800, 1000, 1000};
        for (long n : nominal) {
            lowest.onFailure(0, "refused");
            highest.onFailure(0, "refused");
            assertEquals(n * MS / 2, lowest.delayNanos(0), "at least half the nominal delay");
            assertTrue(Math.abs(n * MS - highest.delayNanos(0)) <= MS, "at most the nominal delay");
        }
        assertEquals(6, lowest.failures());
        assertEquals("refused", lowest.lastError());
    }

    @Test
    void theDelayRunsDownWithTimeAndASuccessResetsIt() {
        ConnectBackoff b = new ConnectBackoff(100 * MS, 5000 * MS, () -> 1.0);
        b.onFailure(1000 * MS, "timeout");
        assertEquals(100 * MS, b.delayNanos(1000 * MS));
        assertEquals(40 * MS, b.delayNanos(1060 * MS));
        assertEquals(0, b.delayNanos(1100 * MS));
        b.onSuccess();
        assertEquals(0, b.failures());
        b.onFailure(2000 * MS, "again");
        assertEquals(100 * MS, b.delayNanos(2000 * MS), "after a success the schedule starts over");
    }
}
