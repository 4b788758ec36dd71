package dev.tidewire.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tidewire.transport.internal.Heartbeat.Action;
import org.junit.jupiter.api.Test;

/** The heartbeat decision with plain numbers for time: no clocks, no sleeping. */
class HeartbeatTest {
    private static final long MS = 1_000_000;

    @Test
    void pingsAfterTheIntervalAndDeclaresDeathAfterTheTimeout() {
        Heartbeat h = new Heartbeat(2000 * MS, 5000 * MS);
        long lastRead = 0;
        assertEquals(Action.NONE, h.check(1999 * MS, lastRead));
        assertEquals(Action.PING, h.check(2000 * MS, lastRead));
        assertEquals(Action.NONE, h.check(2010 * MS, lastRead), "one ping per interval");
        assertEquals(Action.PING, h.check(4000 * MS, lastRead), "pings again while silent");
        assertEquals(Action.NONE, h.check(4990 * MS, lastRead));
        assertEquals(Action.DEAD, h.check(5000 * MS, lastRead));
    }

    @Test
    void anyFrameReadResetsTheClock() {
        Heartbeat h = new Heartbeat(2000 * MS, 5000 * MS);
        assertEquals(Action.PING, h.check(2000 * MS, 0));
        long pongAt = 2001 * MS;
        assertEquals(Action.NONE, h.check(4000 * MS, pongAt));
        assertEquals(Action.PING, h.check(4001 * MS, pongAt));
        assertEquals(Action.NONE, h.check(6000 * MS, pongAt));
        assertEquals(Action.PING, h.check(6001 * MS, pongAt));
        assertEquals(Action.NONE, h.check(7000 * MS, pongAt));
        assertEquals(Action.DEAD, h.check(7001 * MS, pongAt));
    }

    @Test
    void zeroIntervalDisablesTheHeartbeat() {
        Heartbeat h = new Heartbeat(0, 5000 * MS);
        assertEquals(Action.NONE, h.check(Long.MAX_VALUE / 2, 0));
    }
}
