package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tidewire.ProtocolException;

/**
 * Coverage-guided fuzzing of HELLO payload decoding ({@link Hello#decode(byte[])}), the first thing
 * either side parses from its peer. The payload is JSON read by Jackson, whose parser is
 * instrumented too ({@code jazzer.instrument} in {@code src/test/resources/junit-platform.properties}),
 * so the fuzzer can learn the JSON syntax; the dictionary names the fields. A normal
 * {@code mvn verify} replays the seed inputs under
 * {@code src/test/resources/dev/tidewire/protocol/HelloFuzzTestInputs/}; to fuzz, see
 * docs/security.md section 4.
 *
 * <p>Properties: a payload either decodes to a HELLO whose fields are within the ranges of
 * docs/protocol.md, or fails with a {@link ProtocolException} (nothing else); a decoded HELLO
 * encodes and decodes back to itself.
 */
class HelloFuzzTest {

    @FuzzTest(maxDuration = "30s")
    @DictionaryEntries({"\"version\"", "\"maxFrameSize\"", "\"maxInFlight\"", "\"agent\"", "\"credentials\"",
            "\"token\"", "\"type\"", "16777216", "4096", "1073741824", "2147483648", "null", "true", "1e3", "-1"})
    void helloPayloadsDecodeToValidHellosOrProtocolErrors(byte[] payload) {
        Hello hello;
        try {
            hello = Hello.decode(payload);
        } catch (ProtocolException expected) {
            assertNotNull(expected.getMessage(), "a rejection says why");
            return;
        }
        assertTrue(hello.version() >= 1 && hello.version() <= 255, "version " + hello.version());
        assertTrue(hello.maxFrameSize() >= Protocol.MIN_MAX_FRAME_SIZE && hello.maxFrameSize() <= Protocol.MAX_MAX_FRAME_SIZE,
                "maxFrameSize " + hello.maxFrameSize());
        assertTrue(hello.maxInFlight() >= 0, "maxInFlight " + hello.maxInFlight());
        assertNotNull(hello.agent(), "agent");
        assertNotNull(hello.credentials(), "credentials");
        assertEquals(hello, Hello.decode(hello.encode()), "a decoded HELLO must survive encode and decode");
    }
}
