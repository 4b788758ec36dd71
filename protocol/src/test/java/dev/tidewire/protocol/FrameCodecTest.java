package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FrameCodecTest {
    private static final int LIMIT = 64 * 1024;

    static Frame sample(FrameType type) {
        return switch (type) {
            case HELLO -> new Frame(type, 0, new Hello(1, LIMIT, 16, "test", Map.of("token", "s3cret")).encode());
            case REQUEST -> new Frame(type, 7, RequestPayload.encode("echo", utf8("{\"val\":\"pixelpig!\"}")));
            case RESPONSE -> new Frame(type, 7, utf8("{\"val\":\"pixelpig!\"}"));
            case ERROR -> new Frame(type, 9, new ErrorPayload(ErrorCode.OVERLOADED, "busy").encode());
            case PING, PONG -> Frame.of(type, 0x0102030405060708L);
            case CANCEL -> Frame.of(type, 42);
            case GOAWAY -> new Frame(type, Long.MAX_VALUE, new GoAwayPayload("bye").encode());
            case REQUEST_EXT -> new Frame(type, 8, RequestPayload.encodeExtended("echo", 250,
                    dev.tidewire.Metadata.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                    utf8("{\"val\":\"pixelpig!\"}")));
        };
    }

    @ParameterizedTest
    @EnumSource(FrameType.class)
    void everyFrameTypeRoundTrips(FrameType type) {
        Frame frame = sample(type);
        byte[] wire = FrameEncoder.encode(frame);
        assertEquals(Protocol.HEADER_LENGTH + frame.payload().length, wire.length);
        List<Frame> out = decodeAll(wire, wire.length);
        assertEquals(List.of(frame), out);
    }

    @Test
    void payloadsRoundTrip() {
        Hello hello = Hello.decode(sample(FrameType.HELLO).payload());
        assertEquals(1, hello.version());
        assertEquals(LIMIT, hello.maxFrameSize());
        assertEquals(16, hello.maxInFlight());
        assertEquals("s3cret", hello.credentials().get("token"));
        RequestPayload request = RequestPayload.decode(sample(FrameType.REQUEST).payload());
        assertEquals("echo", request.op());
        assertArrayEquals(utf8("{\"val\":\"pixelpig!\"}"), request.body());
        ErrorPayload error = ErrorPayload.decode(sample(FrameType.ERROR).payload());
        assertEquals(new ErrorPayload(ErrorCode.OVERLOADED, "busy"), error);
        assertEquals("bye", GoAwayPayload.decode(sample(FrameType.GOAWAY).payload()).reason());
    }

    @Test
    void helloToStringNeverShowsCredentials() {
        Hello hello = Hello.decode(sample(FrameType.HELLO).payload());
        assertTrue(!hello.toString().contains("s3cret"), hello.toString());
    }

    @Test
    void decodesOneByteAtATime() {
        byte[] wire = allTypesStream();
        assertEquals(allSamples(), decodeAll(wire, 1));
    }

    @Test
    void decodesManyFramesInOneBuffer() {
        byte[] wire = allTypesStream();
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        List<Frame> out = new ArrayList<>();
        decoder.decode(ByteBuffer.wrap(wire), out::add);
        assertEquals(allSamples(), out);
        assertTrue(decoder.isIdle());
        decoder.endOfStream();
    }

    @Test
    void decodesEverySplitPoint() {
        byte[] wire = allTypesStream();
        for (int split = 1; split < wire.length; split++) {
            FrameDecoder decoder = new FrameDecoder(LIMIT);
            List<Frame> out = new ArrayList<>();
            decoder.decode(ByteBuffer.wrap(wire, 0, split), out::add);
            decoder.decode(ByteBuffer.wrap(wire, split, wire.length - split), out::add);
            assertEquals(allSamples(), out, "split at " + split);
        }
    }

    @Test
    void badMagicFailsOnTheFirstTwoBytes() {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        BadMagicException e = assertThrows(BadMagicException.class,
                () -> decoder.decode(ByteBuffer.wrap(utf8("GET / HTTP/1.1\r\n")), f -> { }));
        assertTrue(e.getMessage().contains("0x4745"), e.getMessage());
        // the decoder stays failed: framing is lost for good
        assertSame(e, assertThrows(BadMagicException.class, () -> decoder.decode(ByteBuffer.wrap(new byte[1]), f -> { })));
    }

    @Test
    void unknownVersionIsTyped() {
        byte[] wire = FrameEncoder.encode(sample(FrameType.PING));
        wire[2] = 2;
        assertThrows(UnsupportedVersionException.class, () -> decodeAll(wire, 1));
    }

    @Test
    void unknownTypeIsTyped() {
        byte[] wire = FrameEncoder.encode(sample(FrameType.PING));
        wire[3] = 0x7F;
        UnknownFrameTypeException e = assertThrows(UnknownFrameTypeException.class, () -> decodeAll(wire, 4));
        assertTrue(e.getMessage().contains("0x7f"), e.getMessage());
    }

    @Test
    void oversizeLengthIsRejectedBeforeAllocating() {
        ByteBuffer header = ByteBuffer.allocate(Protocol.HEADER_LENGTH);
        FrameEncoder.writeHeader(header, FrameType.RESPONSE, 1, 0);
        header.putInt(12, 0xFFFF_FFF0); // declares ~4 GiB
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        FrameTooLargeException e = assertThrows(FrameTooLargeException.class,
                () -> decoder.decode(ByteBuffer.wrap(header.array()), f -> { }));
        assertTrue(e.getMessage().contains("4294967280"), e.getMessage());
        assertEquals(0, decoder.largestAllocation());
    }

    @Test
    void aDeclaredLengthCostsNoMoreThanOneChunkUntilItsBytesArrive() {
        ByteBuffer header = ByteBuffer.allocate(Protocol.HEADER_LENGTH + 10);
        FrameEncoder.writeHeader(header, FrameType.RESPONSE, 1, 16 * 1024 * 1024);
        FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
        decoder.decode(ByteBuffer.wrap(header.array()), f -> { });
        assertEquals(FrameDecoder.CHUNK, decoder.largestAllocation(), "one chunk, not the declared 16 MiB");
        assertEquals(10, decoder.partialPayloadBytes());
    }

    @Test
    void aPayloadOfManyChunksArrivesWhole() {
        byte[] payload = new byte[5 * FrameDecoder.CHUNK + 123];
        new java.util.Random(7).nextBytes(payload);
        Frame frame = new Frame(FrameType.RESPONSE, 9, payload);
        for (int split : new int[] {1000, FrameDecoder.CHUNK, FrameDecoder.CHUNK + 1, 1 << 20}) {
            FrameDecoder decoder = new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_SIZE);
            List<Frame> out = new ArrayList<>();
            byte[] wire = FrameEncoder.encode(frame);
            for (int at = 0; at < wire.length; at += split) {
                decoder.decode(ByteBuffer.wrap(wire, at, Math.min(split, wire.length - at)), out::add);
            }
            assertEquals(List.of(frame), out, "split " + split);
            assertEquals(FrameDecoder.CHUNK, decoder.largestAllocation(), "split " + split);
            assertEquals(1, decoder.framesDecoded());
        }
    }

    @Test
    void lengthExactlyAtTheLimitIsAccepted() {
        Frame frame = new Frame(FrameType.RESPONSE, 3, new byte[LIMIT]);
        assertEquals(List.of(frame), decodeAll(FrameEncoder.encode(frame), 1000));
        Frame over = new Frame(FrameType.RESPONSE, 3, new byte[LIMIT + 1]);
        assertThrows(FrameTooLargeException.class, () -> decodeAll(FrameEncoder.encode(over), 1000));
    }

    @Test
    void streamEndingMidFrameIsTruncated() {
        byte[] wire = FrameEncoder.encode(sample(FrameType.RESPONSE));
        for (int cut : new int[] {1, 5, Protocol.HEADER_LENGTH, wire.length - 1}) {
            FrameDecoder decoder = new FrameDecoder(LIMIT);
            decoder.decode(ByteBuffer.wrap(wire, 0, cut), f -> { });
            assertThrows(TruncatedFrameException.class, decoder::endOfStream, "cut at " + cut);
        }
    }

    @Test
    void malformedPayloadsAreProtocolErrors() {
        assertThrows(ProtocolException.class, () -> Hello.decode(utf8("[1,2]")));
        assertThrows(ProtocolException.class, () -> Hello.decode(utf8("{\"version\":1}")));
        assertThrows(ProtocolException.class, () -> Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":10}")));
        assertThrows(ProtocolException.class, () -> Hello.decode(utf8("{not json")));
        assertThrows(ProtocolException.class, () -> ErrorPayload.decode(utf8("{\"code\":\"x\"}")));
        assertThrows(ProtocolException.class, () -> RequestPayload.decode(new byte[] {0, 1, 2}));
        assertThrows(ProtocolException.class, () -> RequestPayload.decode(new byte[] {9, 'a'}));
        assertEquals("", GoAwayPayload.decode(utf8("garbage")).reason());
    }

    @Test
    void opNamesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> RequestPayload.opBytes(""));
        assertThrows(IllegalArgumentException.class, () -> RequestPayload.opBytes("x".repeat(256)));
        assertEquals(255, RequestPayload.opBytes("x".repeat(255)).length);
    }

    static List<Frame> allSamples() {
        List<Frame> frames = new ArrayList<>();
        for (FrameType t : FrameType.values()) {
            frames.add(sample(t));
        }
        return frames;
    }

    static byte[] allTypesStream() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : allSamples()) {
            out.writeBytes(FrameEncoder.encode(f));
        }
        return out.toByteArray();
    }

    static List<Frame> decodeAll(byte[] wire, int chunk) {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        List<Frame> out = new ArrayList<>();
        for (int i = 0; i < wire.length; i += chunk) {
            decoder.decode(ByteBuffer.wrap(wire, i, Math.min(chunk, wire.length - i)), out::add);
        }
        decoder.endOfStream();
        return out;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
