package dev.tidewire.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tidewire.ProtocolException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The HELLO payload. Each side declares what it accepts; the client sends first, the server answers
 * with its own HELLO before anything else.
 *
 * <pre>{@code {"version":1,"maxFrameSize":16777216,"maxInFlight":1024,"agent":"tidewire-java/0.1",
 *  "checksum":"crc32c","credentials":{"type":"bearer","token":"..."}}}</pre>
 *
 * @param version      protocol version the sender speaks (1)
 * @param maxFrameSize largest payload the <em>sender</em> accepts; the peer must not send more
 * @param maxInFlight  from the server: requests it accepts in flight on this connection; from the
 *                     client: 0 (no limit is imposed on the server)
 * @param agent        free text naming the implementation, for logs
 * @param credentials  optional string fields for authentication (client to server only); never
 *                     printed by {@link #toString()}
 * @param checksum     whether the sender offers CRC32C frame trailers ({@code "checksum":"crc32c"});
 *                     they are used, in both directions, only when both HELLOs offer them
 */
public record Hello(int version, int maxFrameSize, int maxInFlight, String agent, Map<String, String> credentials,
        boolean checksum) {

    /** Normalises a null agent to {@code ""} and null credentials to an empty map. */
    public Hello {
        agent = agent == null ? "" : agent;
        credentials = credentials == null ? Map.of() : Map.copyOf(credentials);
    }

    /** A HELLO that does not offer checksums (what a peer without the feature sends). */
    public Hello(int version, int maxFrameSize, int maxInFlight, String agent, Map<String, String> credentials) {
        this(version, maxFrameSize, maxInFlight, agent, credentials, false);
    }

    /** Encodes this HELLO as its JSON payload. */
    public byte[] encode() {
        ObjectNode o = ProtocolJson.object();
        o.put("version", version);
        o.put("maxFrameSize", maxFrameSize);
        o.put("maxInFlight", maxInFlight);
        o.put("agent", agent);
        if (checksum) {
            o.put("checksum", Protocol.CHECKSUM_CRC32C);
        }
        if (!credentials.isEmpty()) {
            ObjectNode c = o.putObject("credentials");
            credentials.forEach(c::put);
        }
        return ProtocolJson.write(o);
    }

    /**
     * Decodes and validates a HELLO payload.
     *
     * <p>{@code checksum}: absent or null means not offered; the string {@code "crc32c"} offers
     * CRC32C trailers; any other string names an algorithm this side does not know and counts as
     * not offered (so a later peer may offer another one and still interoperate).
     *
     * @throws ProtocolException if it is not a JSON object with integer fields in range, or if
     *                           {@code checksum} is present and not a string
     */
    public static Hello decode(byte[] payload) {
        JsonNode o = ProtocolJson.readObject(payload, "HELLO");
        int version = intField(o, "version", 1, 255);
        int maxFrameSize = intField(o, "maxFrameSize", Protocol.MIN_MAX_FRAME_SIZE, Protocol.MAX_MAX_FRAME_SIZE);
        int maxInFlight = o.has("maxInFlight") ? intField(o, "maxInFlight", 0, Integer.MAX_VALUE) : 0;
        String agent = o.path("agent").asText("");
        Map<String, String> credentials = new LinkedHashMap<>();
        JsonNode c = o.get("credentials");
        if (c != null && !c.isNull()) {
            if (!c.isObject()) {
                throw new ProtocolException("malformed HELLO payload: credentials must be an object");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                credentials.put(e.getKey(), e.getValue().asText());
            }
        }
        JsonNode cs = o.get("checksum");
        if (cs != null && !cs.isNull() && !cs.isTextual()) {
            throw new ProtocolException("malformed HELLO payload: 'checksum' must be a string");
        }
        boolean checksum = cs != null && Protocol.CHECKSUM_CRC32C.equals(cs.textValue());
        return new Hello(version, maxFrameSize, maxInFlight, agent, credentials, checksum);
    }

    private static int intField(JsonNode o, String name, int min, int max) {
        JsonNode v = o.get(name);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ProtocolException("malformed HELLO payload: '" + name + "' must be an integer");
        }
        int i = v.intValue();
        if (i < min || i > max) {
            throw new ProtocolException("malformed HELLO payload: '" + name + "' = " + i + " is outside " + min + ".." + max);
        }
        return i;
    }

    @Override
    public String toString() {
        return "Hello[version=" + version + ", maxFrameSize=" + maxFrameSize + ", maxInFlight=" + maxInFlight
                + ", agent=" + agent + (checksum ? ", checksum=crc32c" : "") + (credentials.isEmpty() ? "" : ", credentials=<redacted>") + "]";
    }
}
