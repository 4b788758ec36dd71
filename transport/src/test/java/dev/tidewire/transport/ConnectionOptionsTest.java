package dev.tidewire.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConnectionOptionsTest {

    @Test
    void defaultsAreDocumentedConstants() {
        ConnectionOptions o = ConnectionOptions.defaults();
        assertEquals(ConnectionOptions.DEFAULT_CONNECT_TIMEOUT, o.connectTimeout());
        assertEquals(ConnectionOptions.DEFAULT_HEARTBEAT_INTERVAL, o.heartbeatInterval());
        assertEquals(ConnectionOptions.DEFAULT_HEARTBEAT_TIMEOUT, o.heartbeatTimeout());
        assertEquals(ConnectionOptions.DEFAULT_KEEP_ALIVE_IDLE, o.keepAliveIdle());
        assertEquals(o.toString(), o.toBuilder().build().toString());
    }

    @Test
    void badValuesAreRejectedWithTheOptionsName() {
        assertMessage("connectTimeout", () -> ConnectionOptions.builder().connectTimeout(Duration.ZERO));
        assertMessage("maxFrameSize", () -> ConnectionOptions.builder().maxFrameSize(100));
        assertMessage("maxInFlight", () -> ConnectionOptions.builder().maxInFlight(0));
        assertMessage("keepAlive interval", () -> ConnectionOptions.builder().keepAlive(Duration.ofSeconds(10), Duration.ofMillis(10), 3));
        assertMessage("whole seconds", () -> ConnectionOptions.builder().keepAlive(Duration.ofMillis(1500)));
        assertMessage("keepAlive count", () -> ConnectionOptions.builder().keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(1), 0));
        assertMessage("heartbeatTimeout", () -> ConnectionOptions.builder().heartbeat(Duration.ofSeconds(5), Duration.ofSeconds(5)).build());
        assertMessage("writeBufferSize", () -> ConnectionOptions.builder().writeBufferSize(10));
        assertMessage("timeout", () -> Deadline.after(Duration.ZERO));
    }

    @Test
    void zeroDisablesKeepAliveAndHeartbeat() {
        ConnectionOptions o = ConnectionOptions.builder().keepAlive(Duration.ZERO).heartbeat(Duration.ZERO, Duration.ofSeconds(1)).build();
        assertEquals(Duration.ZERO, o.keepAliveIdle());
        assertEquals(Duration.ZERO, o.heartbeatInterval());
    }

    private static void assertMessage(String name, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(name), ex.getMessage());
    }
}
