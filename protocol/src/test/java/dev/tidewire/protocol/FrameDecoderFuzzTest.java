package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tidewire.ProtocolException;
import java.nio.ByteBuffer;

/**
 * Coverage-guided fuzzing of {@link FrameDecoder} with Jazzer. A normal {@code mvn verify} replays
 * only the seed inputs (regression mode); to fuzz, run with {@code JAZZER_FUZZ=1}, e.g.
 * {@code JAZZER_FUZZ=1 mvn -pl protocol test -Dtest=FrameDecoderFuzzTest}. The property is the one
 * of {@link FrameDecoderPropertyTest}: whatever the bytes and their split, the decoder yields only
 * frames within its limit or a typed {@link ProtocolException}.
 */
class FrameDecoderFuzzTest {
    private static final int LIMIT = 4096;

    @FuzzTest(maxDuration = "30s")
    void decoderYieldsFramesOrProtocolErrors(FuzzedDataProvider data) {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        try {
            for (int guard = 0; guard < 10_000 && data.remainingBytes() > 0; guard++) {
                int chunk = data.consumeInt(1, 512);
                byte[] bytes = data.consumeBytes(chunk);
                decoder.decode(ByteBuffer.wrap(bytes), f -> assertTrue(f.payload().length <= LIMIT, "payload over limit"));
            }
            decoder.endOfStream();
        } catch (ProtocolException expected) {
            // a typed rejection is a correct outcome
        }
    }

    @FuzzTest(maxDuration = "30s")
    void helloDecodingYieldsAHelloOrAProtocolError(byte[] payload) {
        try {
            Hello.decode(payload);
        } catch (ProtocolException expected) {
            // a typed rejection is a correct outcome
        }
    }
}
