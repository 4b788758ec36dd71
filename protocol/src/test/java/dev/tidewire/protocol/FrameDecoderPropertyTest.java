package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tidewire.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Property: whatever bytes arrive, in whatever split, the decoder yields only valid frames within
 * the limit or a typed {@link ProtocolException}, never another exception, never a hang, never an
 * allocation past the limit. Seeds are fixed so a failure reproduces; the seed is in the message.
 */
class FrameDecoderPropertyTest {
    private static final int LIMIT = 4096;
    private static final int CASES = 20_000;

    @Test
    void randomBytesInRandomSplits() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < CASES; i++) {
                long seed = 0x5EED_0000L + i;
                SplittableRandom random = new SplittableRandom(seed);
                byte[] input = new byte[random.nextInt(0, 3 * LIMIT)];
                random.nextBytes(input);
                if (random.nextBoolean() && input.length >= 4) {
                    // a valid-looking header start makes the decoder go deeper
                    input[0] = 'T';
                    input[1] = 'W';
                    input[2] = 1;
                    input[3] = (byte) random.nextInt(0, 10);
                }
                check(seed, input, random);
            }
        });
    }

    @Test
    void validStreamsWithRandomCorruption() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < CASES; i++) {
                long seed = 0xC0FFEE_0000L + i;
                SplittableRandom random = new SplittableRandom(seed);
                List<Frame> frames = randomFrames(random);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                frames.forEach(f -> out.writeBytes(FrameEncoder.encode(f)));
                byte[] wire = out.toByteArray();
                boolean corrupt = random.nextInt(4) != 0 && wire.length > 0;
                if (corrupt) {
                    int flips = random.nextInt(1, 4);
                    for (int k = 0; k < flips; k++) {
                        wire[random.nextInt(wire.length)] ^= (byte) random.nextInt(1, 256);
                    }
                    if (random.nextBoolean()) {
                        wire = java.util.Arrays.copyOf(wire, random.nextInt(wire.length));
                    }
                }
                List<Frame> decoded = check(seed, wire, random);
                if (!corrupt) {
                    assertEquals(frames, decoded, "seed " + seed);
                }
            }
        });
    }

    private static List<Frame> check(long seed, byte[] input, SplittableRandom random) {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        List<Frame> out = new ArrayList<>();
        try {
            int pos = 0;
            while (pos < input.length) {
                int n = Math.min(input.length - pos, random.nextInt(1, 2 * LIMIT));
                decoder.decode(ByteBuffer.wrap(input, pos, n), out::add);
                pos += n;
            }
            decoder.endOfStream();
        } catch (ProtocolException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().isEmpty(), "seed " + seed);
        } catch (RuntimeException | Error e) {
            fail("seed " + seed + ": decoder threw " + e, e);
        }
        assertTrue(decoder.largestAllocation() <= LIMIT, "seed " + seed + ": allocated " + decoder.largestAllocation());
        for (Frame f : out) {
            assertTrue(f.payload().length <= LIMIT, "seed " + seed);
            assertTrue(f.type() != null, "seed " + seed);
        }
        return out;
    }

    private static List<Frame> randomFrames(SplittableRandom random) {
        List<Frame> frames = new ArrayList<>();
        int n = random.nextInt(0, 8);
        FrameType[] types = FrameType.values();
        for (int i = 0; i < n; i++) {
            byte[] payload = new byte[random.nextInt(0, random.nextBoolean() ? 64 : LIMIT + 1)];
            random.nextBytes(payload);
            frames.add(new Frame(types[random.nextInt(types.length)], random.nextLong(), payload));
        }
        return frames;
    }
}
