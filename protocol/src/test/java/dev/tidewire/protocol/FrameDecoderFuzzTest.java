package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tidewire.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Coverage-guided fuzzing of {@link FrameDecoder} with Jazzer; the only fuzz test of this class, so
 * {@code -Dtest=FrameDecoderFuzzTest} fuzzes it (Jazzer fuzzes only one {@code @FuzzTest} per run
 * and skips the others). A normal {@code mvn verify} replays the seed inputs under
 * {@code src/test/resources/dev/tidewire/protocol/FrameDecoderFuzzTestInputs/} (regression mode);
 * to fuzz, see docs/security.md section 4.
 *
 * <p>An input is a decoder limit, a list of split sizes and a byte stream (optionally with a long
 * run of one byte inserted, so payloads larger than {@link FrameDecoder#CHUNK} are reachable). The
 * stream is decoded twice: in the fuzzed splits and in one piece. Properties:
 * <ul>
 *   <li>the only exceptions are the documented {@link ProtocolException} subclasses (anything
 *       else, such as an index or null pointer error, escapes and is a finding);</li>
 *   <li>both decodings yield the same frames and the same error: the split never matters;</li>
 *   <li>every frame's payload is within the limit, and the frames re-encoded are exactly the bytes
 *       they were decoded from;</li>
 *   <li>after an error the decoder rethrows that same exception;</li>
 *   <li>no payload buffer larger than the limit or than one chunk is allocated before its bytes arrive.</li>
 * </ul>
 */
class FrameDecoderFuzzTest {
    private static final int[] LIMITS = {0, 1, 16, 4096, 150_000};
    private static final Set<Class<?>> TYPED = Set.of(BadMagicException.class, UnsupportedVersionException.class,
            UnknownFrameTypeException.class, FrameTooLargeException.class, TruncatedFrameException.class,
            ChecksumMismatchException.class);

    @FuzzTest(maxDuration = "30s")
    void decoderYieldsFramesOrProtocolErrors(FuzzedDataProvider data) {
        int limit = data.consumeBoolean() ? LIMITS[data.consumeInt(0, LIMITS.length - 1)] : data.consumeInt(0, 200_000);
        int[] splits = new int[data.consumeInt(0, 8)];
        for (int i = 0; i < splits.length; i++) {
            splits[i] = data.consumeInt(1, 70_000);
        }
        int runAt = -1;
        int runLength = 0;
        if (data.consumeBoolean()) {
            runAt = data.consumeInt(0, 4096);
            runLength = data.consumeInt(0, 140_000);
        }
        // with a negotiated CRC32C every frame carries a trailer the decoder checks (protocol.md 2.4)
        boolean checksum = data.consumeBoolean();
        byte[] stream = withRun(data.consumeRemainingAsBytes(), runAt, runLength);

        Outcome split = decode(stream, limit, splits, checksum);
        Outcome whole = decode(stream, limit, new int[0], checksum);

        assertEquals(whole.frames.size(), split.frames.size(), "the split changed the number of frames");
        for (int i = 0; i < whole.frames.size(); i++) {
            assertEquals(whole.frames.get(i), split.frames.get(i), "the split changed frame " + i);
        }
        assertEquals(whole.error == null ? null : whole.error.getClass(),
                split.error == null ? null : split.error.getClass(), "the split changed the outcome");
        ByteArrayOutputStream reencoded = new ByteArrayOutputStream();
        for (Frame f : split.frames) {
            assertTrue(f.payload().length <= limit, "payload of " + f.payload().length + " B over the limit " + limit);
            reencoded.writeBytes(FrameEncoder.encode(f, checksum));
        }
        byte[] prefix = reencoded.toByteArray();
        assertTrue(prefix.length <= stream.length, "frames longer than the input");
        assertArrayEquals(java.util.Arrays.copyOf(stream, prefix.length), prefix, "frames differ from their bytes");
        if (split.error == null) {
            assertEquals(stream.length, prefix.length, "bytes left over without an error");
        }
    }

    private record Outcome(List<Frame> frames, ProtocolException error) {
    }

    /** Decodes {@code stream} in pieces of the given sizes (cycled; one piece if none), then ends it. */
    private static Outcome decode(byte[] stream, int limit, int[] splits, boolean checksum) {
        FrameDecoder decoder = new FrameDecoder(limit);
        decoder.checksum(checksum);
        List<Frame> frames = new ArrayList<>();
        ProtocolException error = null;
        try {
            int at = 0;
            for (int i = 0; at < stream.length; i++) {
                int n = splits.length == 0 ? stream.length : Math.min(splits[i % splits.length], stream.length - at);
                decoder.decode(ByteBuffer.wrap(stream, at, n), frames::add);
                at += n;
            }
            decoder.endOfStream();
        } catch (ProtocolException e) {
            assertTrue(TYPED.contains(e.getClass()), "undocumented protocol exception " + e.getClass().getName());
            error = e;
            try {
                decoder.decode(ByteBuffer.wrap(new byte[] {'T'}), frames::add);
                fail("a failed decoder accepted more bytes");
            } catch (ProtocolException again) {
                assertSame(e, again, "a failed decoder must rethrow its first error");
            }
        }
        assertTrue(decoder.largestAllocation() <= Math.min(limit, FrameDecoder.CHUNK),
                "allocated " + decoder.largestAllocation() + " B ahead of the bytes (limit " + limit + ")");
        return new Outcome(frames, error);
    }

    /** {@code bytes} with {@code length} copies of the byte before {@code at} inserted there. */
    private static byte[] withRun(byte[] bytes, int at, int length) {
        if (at < 0 || length == 0 || bytes.length == 0) {
            return bytes;
        }
        int pos = Math.min(at, bytes.length);
        byte fill = bytes[Math.max(0, pos - 1)];
        byte[] out = new byte[bytes.length + length];
        System.arraycopy(bytes, 0, out, 0, pos);
        java.util.Arrays.fill(out, pos, pos + length, fill);
        System.arraycopy(bytes, pos, out, pos + length, bytes.length - pos);
        return out;
    }
}
