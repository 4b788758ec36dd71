package dev.tidewire.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The remote service address a client's observation hands to tracing handlers. */
class ObservedCallsTest {
    @Test
    void thePeerBecomesAUriWithHostAndPort() {
        assertEquals("tidewire://127.0.0.1:7000", ObservedCalls.uri("127.0.0.1:7000"));
        assertEquals("tidewire://db-1.example:7000", ObservedCalls.uri("db-1.example:7000"));
        assertEquals("tidewire://[::1]:7000", ObservedCalls.uri("::1:7000"));
        assertEquals("tidewire://[0:0:0:0:0:0:0:1]:7000", ObservedCalls.uri("0:0:0:0:0:0:0:1:7000"));
    }

    @Test
    void whatMakesNoUriIsLeftOut() {
        assertNull(ObservedCalls.uri("7000"));
        assertNull(ObservedCalls.uri("bad host:7000"));
        assertNull(ObservedCalls.uri("host:"));
    }
}
