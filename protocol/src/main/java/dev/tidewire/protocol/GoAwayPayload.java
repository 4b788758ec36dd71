package dev.tidewire.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The GOAWAY payload: {@code {"reason":"server shutting down"}}. The frame's request id carries the
 * last request id the server will answer.
 *
 * @param reason why the server is going away, for logs
 */
public record GoAwayPayload(String reason) {
    /** Normalises a null reason to {@code ""}. */
    public GoAwayPayload {
        reason = reason == null ? "" : reason;
    }

    /** Encodes this GOAWAY as its JSON payload, a new array. */
    public byte[] encode() {
        ObjectNode o = ProtocolJson.object();
        o.put("reason", reason);
        return ProtocolJson.write(o);
    }

    /** Decodes leniently: a malformed reason is not worth a protocol error. */
    public static GoAwayPayload decode(byte[] payload) {
        try {
            return new GoAwayPayload(ProtocolJson.readObject(payload, "GOAWAY").path("reason").asText(""));
        } catch (RuntimeException e) {
            return new GoAwayPayload("");
        }
    }
}
