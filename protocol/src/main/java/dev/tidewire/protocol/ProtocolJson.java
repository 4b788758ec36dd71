package dev.tidewire.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The JSON codec for control payloads (HELLO, ERROR, GOAWAY). Tolerates unknown fields. */
final class ProtocolJson {
    static final ObjectMapper MAPPER = JsonLimits.newObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private ProtocolJson() {
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static byte[] write(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode control payload", e);
        }
    }

    /**
     * Parses a control payload that must be a JSON object in well-formed UTF-8. The UTF-8 is checked
     * first because Jackson's parser lets some malformed sequences in field names through (a
     * 4-byte sequence above U+10FFFF becomes an unpaired surrogate), which would then reach the
     * application (an {@code Authenticator}'s credential names) and could not be encoded back.
     */
    static JsonNode readObject(byte[] payload, String what) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload));
        } catch (CharacterCodingException e) {
            throw new ProtocolException("malformed " + what + " payload: not well-formed UTF-8", null);
        }
        JsonNode node;
        try {
            node = payload.length == 0 ? MAPPER.createObjectNode() : MAPPER.readTree(payload);
        } catch (IOException e) {
            throw new ProtocolException("malformed " + what + " payload: " + e.getMessage(), null);
        }
        if (node == null || !node.isObject()) {
            throw new ProtocolException("malformed " + what + " payload: expected a JSON object");
        }
        return node;
    }
}
