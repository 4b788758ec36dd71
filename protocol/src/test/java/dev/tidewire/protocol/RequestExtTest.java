package dev.tidewire.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tidewire.Metadata;
import dev.tidewire.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** REQUEST_EXT payloads (protocol.md 4.6), metadata rules and the HELLO's metadata limits. */
class RequestExtTest {
    private static final byte[] BODY = "{\"val\":\"hi\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void theSpecExampleHasTheseBytes() {
        // protocol.md 4.6: op "echo", 250 ms left, one entry tenant=acme, body {"val":"hi"}
        byte[] payload = RequestPayload.encodeExtended("echo", 250, Metadata.of("tenant", "acme"), BODY);
        assertEquals("04 65 63 68 6f 00 00 00 fa 00 0d 06 74 65 6e 61 6e 74 00 04 61 63 6d 65"
                        + " 7b 22 76 61 6c 22 3a 22 68 69 22 7d",
                HexFormat.ofDelimiter(" ").formatHex(payload));
        byte[] frame = FrameEncoder.encode(new Frame(FrameType.REQUEST_EXT, 1, payload));
        assertEquals("54 57 01 09 00 00 00 00 00 00 00 01 00 00 00 24",
                HexFormat.ofDelimiter(" ").formatHex(frame, 0, Protocol.HEADER_LENGTH));
    }

    @Test
    void roundTripsInOrderWithRepeatsAndBinaryValues() {
        Metadata md = Metadata.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                .with("tenant", "acme").with("tenant", "ünïcode").withBinary("token-bin", new byte[] {0, (byte) 0xFF, 7});
        byte[] payload = RequestPayload.encodeExtended("get", 1234, md, BODY);
        assertEquals(RequestPayload.extendedLength(RequestPayload.opBytes("get"), md, BODY), payload.length);
        RequestPayload back = RequestPayload.decodeExtended(payload, 32, 8192);
        assertEquals("get", back.op());
        assertEquals(1234, back.timeoutMillis());
        assertArrayEquals(BODY, back.body());
        assertEquals(md, back.metadata());
        assertEquals("ünïcode", back.metadata().get("tenant"));
        assertEquals(List.of("acme", "ünïcode"), back.metadata().getAll("tenant"));
        assertArrayEquals(new byte[] {0, (byte) 0xFF, 7}, back.metadata().getBinary("token-bin"));
        assertNull(back.metadata().get("absent"));
    }

    @Test
    void emptyMetadataAndNoTimeoutAndEmptyBody() {
        byte[] payload = RequestPayload.encodeExtended("x", 0, Metadata.EMPTY, new byte[0]);
        assertEquals(1 + 1 + 6, payload.length);
        RequestPayload back = RequestPayload.decodeExtended(payload, 0, 0);
        assertEquals(new RequestPayload("x", new byte[0]), back);
    }

    @Test
    void theTimeoutFieldRoundsUpAndSaturatesToNone() {
        assertEquals(1, RequestPayload.timeoutField(1));
        assertEquals(1, RequestPayload.timeoutField(1_000_000));
        assertEquals(2, RequestPayload.timeoutField(1_000_001));
        assertEquals(1, RequestPayload.timeoutField(-5)); // spent: the least the field says
        assertEquals(0, RequestPayload.timeoutField(Long.MAX_VALUE / 2)); // longer than u32 ms: none
    }

    @Test
    void metadataOverTheAnnouncedLimitsIsRefused() {
        Metadata three = Metadata.of("a", "1").with("b", "2").with("c", "3");
        byte[] payload = RequestPayload.encodeExtended("op", 10, three, BODY);
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(payload, 2, 8192));
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(payload, 32, three.encodedLength() - 1));
        assertEquals(three, RequestPayload.decodeExtended(payload, 3, three.encodedLength()).metadata());
    }

    @Test
    void malformedPayloadsAreProtocolErrors() {
        byte[] good = RequestPayload.encodeExtended("op", 10, Metadata.of("k", "v"), BODY);
        // too short for the timeout and metadata length
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(new byte[] {2, 'o', 'p', 0, 0}, 32, 8192));
        // metadata length past the payload
        byte[] past = good.clone();
        past[1 + 2 + 4] = (byte) 0x7F;
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(past, 32, 0xFFFF));
        // an entry whose key is empty
        byte[] emptyKey = good.clone();
        emptyKey[1 + 2 + 6] = 0;
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(emptyKey, 32, 8192));
        // an upper-case key
        byte[] upper = good.clone();
        upper[1 + 2 + 6 + 1] = 'K';
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(upper, 32, 8192));
        // a text value that is not UTF-8
        byte[] badText = RequestPayload.encodeExtended("op", 10, Metadata.of("k", "é"), BODY);
        badText[1 + 2 + 6 + 1 + 1 + 2 + 1] = (byte) 0xFF; // second byte of é
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(badText, 32, 8192));
        // a value that runs past the metadata
        byte[] longValue = good.clone();
        longValue[1 + 2 + 6 + 1 + 1 + 1] = 9;
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(longValue, 32, 8192));
    }

    @Test
    void anOpThatIsNotUtf8IsMalformedInBothForms() {
        byte[] plain = {2, (byte) 0xC3, (byte) 0x28, '{', '}'};
        ProtocolException e = assertThrows(ProtocolException.class, () -> RequestPayload.decode(plain));
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
        byte[] ext = RequestPayload.encodeExtended("ab", 1, Metadata.EMPTY, BODY);
        ext[1] = (byte) 0xFF;
        assertThrows(ProtocolException.class, () -> RequestPayload.decodeExtended(ext, 32, 8192));
        assertEquals("é", RequestPayload.decode(RequestPayload.encode("é", BODY)).op());
    }

    @Test
    void metadataKeysAndValuesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("Upper", "v"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("", "v"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("with space", "v"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("tw-deadline", "v"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("x-bin", "text under a binary key"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.EMPTY.withBinary("x", new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("k".repeat(256), "v"));
        assertThrows(IllegalArgumentException.class, () -> Metadata.of("k", "v".repeat(65536)));
        Metadata ok = Metadata.of("k".repeat(255), "v".repeat(65535));
        assertEquals(1 + 255 + 2 + 65535, ok.encodedLength());
        assertEquals(Metadata.of("b", "2"), Metadata.of("a", "1").with("b", "2").without("a"));
        assertTrue(Metadata.of("secret", "hunter2").toString().contains("secret=7 B"));
        assertTrue(!Metadata.of("secret", "hunter2").toString().contains("hunter2"));
    }

    @Test
    void helloAnnouncesMetadataLimits() {
        Hello server = new Hello(1, 16777216, 1024, "s", Map.of(), true, Hello.MetadataLimits.DEFAULT);
        assertEquals("{\"version\":1,\"maxFrameSize\":16777216,\"maxInFlight\":1024,\"agent\":\"s\",\"checksum\":\"crc32c\","
                + "\"metadata\":{\"maxEntries\":32,\"maxBytes\":8192}}", new String(server.encode(), StandardCharsets.UTF_8));
        assertEquals(Hello.MetadataLimits.DEFAULT, Hello.decode(server.encode()).metadata());
        assertNull(Hello.decode(new Hello(1, 4096, 0, "old", Map.of()).encode()).metadata());
        assertNull(Hello.decode("{\"version\":1,\"maxFrameSize\":4096,\"metadata\":null}".getBytes(StandardCharsets.UTF_8)).metadata());
        for (String bad : new String[] {"\"metadata\":true", "\"metadata\":{\"maxEntries\":1}",
                "\"metadata\":{\"maxEntries\":-1,\"maxBytes\":10}", "\"metadata\":{\"maxEntries\":1,\"maxBytes\":65536}",
                "\"metadata\":{\"maxEntries\":1.5,\"maxBytes\":10}"}) {
            byte[] json = ("{\"version\":1,\"maxFrameSize\":4096," + bad + "}").getBytes(StandardCharsets.UTF_8);
            assertThrows(ProtocolException.class, () -> Hello.decode(json), bad);
        }
    }
}
