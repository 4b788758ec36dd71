package dev.tidewire.client.security;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tidewire.ResponseDecodingException;
import dev.tidewire.client.TidewireClient;
import dev.tidewire.protocol.JsonLimits;
import dev.tidewire.server.TidewireServer;
import dev.tidewire.testing.Leaks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The client's default mapper refuses JSON bombs in replies; the connection stays usable. */
class JsonLimitsTest {
    @Test
    void aDeeplyNestedReplyIsAResponseDecodingErrorAndTheClientCarriesOn() {
        TidewireServer server = TidewireServer.builder()
                .handler("bomb", req -> CompletableFuture.completedFuture("[".repeat(10_000).getBytes(StandardCharsets.UTF_8)))
                .handler("number", req -> CompletableFuture.completedFuture("9".repeat(1000).getBytes(StandardCharsets.UTF_8)))
                .build().start();
        try (TidewireClient c = TidewireClient.builder().address("127.0.0.1:" + server.port()).build()) {
            assertThrows(ResponseDecodingException.class, () -> c.call("bomb", null, JsonNode.class));
            assertThrows(ResponseDecodingException.class, () -> c.call("number", null, JsonNode.class));
            assertEquals("fine", c.call("echo", "fine", String.class));
            StreamReadConstraints limits = c.options().objectMapper().getFactory().streamReadConstraints();
            assertEquals(JsonLimits.MAX_NESTING_DEPTH, limits.getMaxNestingDepth());
            assertEquals(JsonLimits.MAX_NUMBER_LENGTH, limits.getMaxNumberLength());
            assertEquals(JsonLimits.MAX_STRING_LENGTH, limits.getMaxStringLength());
        } finally {
            server.close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> Leaks.tidewireThreads().isEmpty());
    }
}
