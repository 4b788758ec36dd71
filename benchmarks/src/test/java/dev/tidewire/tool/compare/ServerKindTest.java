package dev.tidewire.tool.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The one mapping from a system's family to its server, as the tables, the JSON and the charts name it. */
class ServerKindTest {
    @Test
    void eachFamilyNamesItsServer() {
        assertEquals("tidewire reference (child JVM)", ServerKind.of("tidewire").label(false));
        assertEquals("tidewire reference (child JVM)", ServerKind.of("pool").label(false), "the pool's server");
        assertEquals("grpc echo (child JVM)", ServerKind.of("grpc").label(false));
        assertEquals("grpc echo (in-process)", ServerKind.of("grpc").label(true));
        assertEquals("redis-server", ServerKind.of("redis").label(false));
        assertEquals("redis-server", ServerKind.of("redis").label(true), "never in this JVM");
        assertEquals("tw", ServerKind.of("tidewire").shortLabel(false));
        assertEquals("tw-in", ServerKind.of("tidewire").shortLabel(true));
        assertEquals("redis*", ServerKind.of("redis").shortLabel(false));
        assertTrue(ServerKind.of("redis").otherServer());
        assertFalse(ServerKind.of("grpc").otherServer());
        assertEquals(ServerKind.OTHER, ServerKind.of("carrier-pigeon"));
        for (ServerKind k : ServerKind.values()) {
            if (k != ServerKind.OTHER) {
                assertEquals(k, ServerKind.ofLabel(k.label(false)));
                assertEquals(k, ServerKind.ofLabel(k.label(true)));
            }
        }
    }
}
