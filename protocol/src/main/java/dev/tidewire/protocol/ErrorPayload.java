package dev.tidewire.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.ProtocolException;

/**
 * The ERROR payload: {@code {"code":13,"message":"too many requests in flight"}}.
 *
 * @param code    an {@link ErrorCode} or an application code (1000 and above)
 * @param message human-readable text, may be empty
 */
public record ErrorPayload(int code, String message) {
    /** Normalises a null message to {@code ""}. */
    public ErrorPayload {
        message = message == null ? "" : message;
    }

    /** Encodes this ERROR as its JSON payload, a new array. */
    public byte[] encode() {
        ObjectNode o = ProtocolJson.object();
        o.put("code", code);
        o.put("message", message);
        return ProtocolJson.write(o);
    }

    /**
     * Decodes an ERROR payload; unknown fields are ignored and a missing message reads as {@code ""}.
     *
     * @throws ProtocolException if the payload is not an object with an integer {@code code}
     */
    public static ErrorPayload decode(byte[] payload) {
        JsonNode o = ProtocolJson.readObject(payload, "ERROR");
        JsonNode code = o.get("code");
        if (code == null || !code.isIntegralNumber() || !code.canConvertToInt()) {
            throw new ProtocolException("malformed ERROR payload: 'code' must be an integer");
        }
        return new ErrorPayload(code.intValue(), o.path("message").asText(""));
    }
}
