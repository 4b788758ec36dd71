package dev.tidewire.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.ProtocolException;
import java.io.IOException;

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

    /** Parses a control payload that must be a JSON object. */
    static JsonNode readObject(byte[] payload, String what) {
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
