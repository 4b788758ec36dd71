package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The negotiated CRC32C frame trailer ({@code docs/protocol.md} 2.4): round trips, corruption, interop. */
class FrameChecksumTest {
    private static final int LIMIT = 1 << 20;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Frame> decode(FrameDecoder decoder, byte[] wire, int step) {
        List<Frame> out = new ArrayList<>();
        for (int i = 0; i < wire.length; i += step) {
            decoder.decode(ByteBuffer.wrap(wire, i, Math.min(step, wire.length - i)), out::add);
        }
        return out;
    }

    private static FrameDecoder checking() {
        FrameDecoder d = new FrameDecoder(LIMIT);
        d.checksum(true);
        return d;
    }

    @Test
    void crc32cIsTheCastagnoliCrcWithItsStandardCheckValue() {
        byte[] check = utf8("123456789");
        assertEquals(0xE3069283, FrameEncoder.checksum(check, 0, check.length));
    }

    private static String hex(byte[] b) {
        StringBuilder out = new StringBuilder();
        for (byte x : b) {
            out.append(out.length() == 0 ? "" : " ").append(String.format("%02x", x));
        }
        return out.toString();
    }

    @Test
    void theWorkedExamplesOfProtocolMdAreWhatTheCodeWrites() {
        // docs/protocol.md 4.5: the 4.2 exchange with trailers, and the HELLOs of 4.3 offering CRC32C
        assertEquals("54 57 01 02 00 00 00 00 00 00 00 01 00 00 00 11 04 65 63 68 6f 7b 22 76 61 6c 22 3a 22 68 69 22 7d"
                + " ab cf b6 f5", hex(FrameEncoder.encode(
                        new Frame(FrameType.REQUEST, 1, RequestPayload.encode("echo", utf8("{\"val\":\"hi\"}"))), true)));
        assertEquals("54 57 01 03 00 00 00 00 00 00 00 01 00 00 00 0c 7b 22 76 61 6c 22 3a 22 68 69 22 7d f8 fd 67 66",
                hex(FrameEncoder.encode(new Frame(FrameType.RESPONSE, 1, utf8("{\"val\":\"hi\"}")), true)));
        assertEquals("54 57 01 05 00 00 00 00 00 00 00 01 00 00 00 00 95 73 d2 b0",
                hex(FrameEncoder.encode(Frame.of(FrameType.PING, 1), true)));
        assertEquals("{\"version\":1,\"maxFrameSize\":16777216,\"maxInFlight\":0,\"agent\":\"x\",\"checksum\":\"crc32c\"}",
                new String(new Hello(1, 16777216, 0, "x", Map.of(), true).encode(), StandardCharsets.UTF_8));
        assertEquals("{\"version\":1,\"maxFrameSize\":16777216,\"maxInFlight\":1024,\"agent\":\"tidewire-server/0.1\","
                + "\"checksum\":\"crc32c\"}",
                new String(new Hello(1, 16777216, 1024, "tidewire-server/0.1", Map.of(), true).encode(), StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @EnumSource(FrameType.class)
    void everyFrameTypeRoundTripsWithItsTrailer(FrameType type) {
        Frame frame = FrameCodecTest.sample(type);
        byte[] wire = FrameEncoder.encode(frame, true);
        assertEquals(Protocol.HEADER_LENGTH + frame.payload().length + Protocol.CHECKSUM_LENGTH, wire.length);
        int crc = FrameEncoder.checksum(wire, 0, wire.length - 4);
        assertEquals(crc, ByteBuffer.wrap(wire, wire.length - 4, 4).getInt(), "big-endian trailer");
        assertEquals(List.of(frame), decode(checking(), wire, wire.length));
        assertEquals(List.of(frame), decode(checking(), wire, 1));
    }

    @Test
    void payloadsLargerThanOneChunkRoundTripInAnySplit() {
        byte[] body = new byte[3 * FrameDecoder.CHUNK + 17];
        new Random(7).nextBytes(body);
        Frame frame = new Frame(FrameType.RESPONSE, 5, body);
        byte[] wire = FrameEncoder.encode(frame, true);
        for (int step : new int[] {1000, 4093, wire.length}) {
            List<Frame> out = decode(checking(), wire, step);
            assertEquals(1, out.size());
            assertArrayEquals(body, out.get(0).payload());
        }
    }

    @Test
    void oneFlippedBitAnywhereInTheFrameIsATypedErrorAndNothingIsDelivered() {
        Frame frame = new Frame(FrameType.RESPONSE, 3, utf8("{\"val\":\"hi\",\"n\":12345}"));
        byte[] good = FrameEncoder.encode(frame, true);
        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] wire = good.clone();
            wire[bit / 8] ^= (byte) (1 << (bit % 8));
            FrameDecoder decoder = checking();
            List<Frame> out = new ArrayList<>();
            ProtocolException e = assertThrows(ProtocolException.class, () -> {
                decoder.decode(ByteBuffer.wrap(wire), out::add);
                decoder.endOfStream(); // a longer length waits for bytes that never come
            }, "bit " + bit);
            assertTrue(out.isEmpty(), "bit " + bit + " delivered " + out);
            int offset = bit / 8;
            if (offset >= 16 || (offset >= 4 && offset < 12)) {
                // payload, trailer, request id: only the checksum can tell
                assertInstanceOf(ChecksumMismatchException.class, e, "bit " + bit);
            }
        }
    }

    @Test
    void aMismatchNamesTheFrameAndBothValuesAndFailsTheDecoderForGood() {
        byte[] wire = FrameEncoder.encode(new Frame(FrameType.RESPONSE, 9, utf8("{\"a\":1}")), true);
        wire[18] ^= 0x20;
        FrameDecoder decoder = checking();
        ChecksumMismatchException e = assertThrows(ChecksumMismatchException.class,
                () -> decoder.decode(ByteBuffer.wrap(wire), f -> { }));
        assertTrue(e.getMessage().contains("CRC32C") && e.getMessage().contains("RESPONSE")
                && e.getMessage().contains("request id 9"), e.getMessage());
        assertFalse(decoder.isIdle());
        assertThrows(ChecksumMismatchException.class, () -> decoder.decode(ByteBuffer.allocate(1), f -> { }));
    }

    @Test
    void helloGoesWithoutATrailerAndTheFramesAfterItCarryOne() {
        // what a checking receiver sees: the peer's HELLO, then (both offered it) trailers
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        Frame hello = new Frame(FrameType.HELLO, 0,
                new Hello(1, LIMIT, 8, "peer", Map.of(), true).encode());
        Frame reply = new Frame(FrameType.RESPONSE, 1, utf8("{}"));
        Frame ping = Frame.of(FrameType.PING, 77);
        wire.writeBytes(FrameEncoder.encode(hello, false));
        wire.writeBytes(FrameEncoder.encode(reply, true));
        wire.writeBytes(FrameEncoder.encode(ping, true));
        for (int step : new int[] {1, 3, wire.size()}) {
            FrameDecoder decoder = new FrameDecoder(LIMIT);
            List<Frame> out = new ArrayList<>();
            byte[] bytes = wire.toByteArray();
            for (int i = 0; i < bytes.length; i += step) {
                decoder.decode(ByteBuffer.wrap(bytes, i, Math.min(step, bytes.length - i)), f -> {
                    out.add(f);
                    if (f.type() == FrameType.HELLO) {
                        decoder.checksum(Hello.decode(f.payload()).checksum());
                    }
                });
            }
            decoder.endOfStream();
            assertEquals(List.of(hello, reply, ping), out);
        }
    }

    @Test
    void aStreamEndingInsideTheTrailerIsTruncated() {
        byte[] wire = FrameEncoder.encode(new Frame(FrameType.RESPONSE, 1, utf8("{}")), true);
        FrameDecoder decoder = checking();
        decoder.decode(ByteBuffer.wrap(wire, 0, wire.length - 2), f -> { });
        TruncatedFrameException e = assertThrows(TruncatedFrameException.class, decoder::endOfStream);
        assertTrue(e.getMessage().contains("2 of 4 checksum bytes"), e.getMessage());
    }

    @Test
    void theSettingChangesOnlyBetweenFrames() {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        decoder.decode(ByteBuffer.wrap(FrameEncoder.encode(Frame.of(FrameType.PING, 1)), 0, 5), f -> { });
        assertThrows(IllegalStateException.class, () -> decoder.checksum(true));
    }

    // ---------------------------------------------------------------- HELLO negotiation and interop

    @Test
    void helloAnnouncesCrc32cAsAStringField() {
        Hello offered = new Hello(1, LIMIT, 0, "x", Map.of(), true);
        String json = new String(offered.encode(), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"checksum\":\"crc32c\""), json);
        assertTrue(Hello.decode(offered.encode()).checksum());
        String old = new String(new Hello(1, LIMIT, 0, "x", Map.of()).encode(), StandardCharsets.UTF_8);
        assertFalse(old.contains("checksum"), old);
    }

    @Test
    void aHelloWithoutTheFieldOrWithAnUnknownAlgorithmOffersNoChecksum() {
        assertFalse(Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":4096}")).checksum());
        assertFalse(Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":4096,\"checksum\":null}")).checksum());
        assertFalse(Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":4096,\"checksum\":\"xxh64\"}")).checksum());
        assertFalse(Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":4096,\"checksum\":\"CRC32C\"}")).checksum());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> Hello.decode(utf8("{\"version\":1,\"maxFrameSize\":4096,\"checksum\":true}")));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void aCapableSideAndAPeerThatDoesNotAnnounceItExchangeFramesWithoutTrailersBothWays() {
        // capable client, old server: the server's HELLO has no checksum field
        Hello oldServer = Hello.decode(new Hello(1, LIMIT, 16, "old", Map.of()).encode());
        Hello newClient = new Hello(1, LIMIT, 0, "new", Map.of(), true);
        boolean agreed = newClient.checksum() && oldServer.checksum();
        assertFalse(agreed);
        // the old server parses the capable client's HELLO (unknown fields are ignored)...
        Hello seenByOld = Hello.decode(newClient.encode());
        assertEquals(LIMIT, seenByOld.maxFrameSize());
        // ...and the frames both send are plain; a receiver that did not agree reads them as ever
        Frame request = new Frame(FrameType.REQUEST, 1, RequestPayload.encode("echo", utf8("{}")));
        Frame response = new Frame(FrameType.RESPONSE, 1, utf8("{}"));
        FrameDecoder atServer = new FrameDecoder(LIMIT);
        atServer.checksum(agreed);
        FrameDecoder atClient = new FrameDecoder(LIMIT);
        atClient.checksum(agreed);
        assertEquals(List.of(request), decode(atServer, FrameEncoder.encode(request, agreed), 7));
        assertEquals(List.of(response), decode(atClient, FrameEncoder.encode(response, agreed), 7));
        // capable server, old client: same outcome the other way round
        Hello newServer = new Hello(1, LIMIT, 16, "new", Map.of(), true);
        Hello oldClient = Hello.decode(new Hello(1, LIMIT, 0, "old", Map.of()).encode());
        assertFalse(newServer.checksum() && oldClient.checksum());
    }
}
