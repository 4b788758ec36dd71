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
 * @param metadata     from the server: that it accepts REQUEST_EXT frames (deadline and metadata),
 *                     with these limits ({@code "metadata":{"maxEntries":32,"maxBytes":8192}});
 *                     null when not announced. A client's value is ignored by the server.
 */
public record Hello(int version, int maxFrameSize, int maxInFlight, String agent, Map<String, String> credentials,
        boolean checksum, MetadataLimits metadata) {

    /**
     * What a server accepts in REQUEST_EXT frames.
     *
     * @param maxEntries most metadata entries in one request, 0..65535
     * @param maxBytes   most bytes of metadata entries in one request (their encoded length), 0..65535
     */
    public record MetadataLimits(int maxEntries, int maxBytes) {
        /** The reference server's defaults: 32 entries, 8 KiB. */
        public static final MetadataLimits DEFAULT = new MetadataLimits(32, 8192);

        /** Checks the ranges. */
        public MetadataLimits {
            if (maxEntries < 0 || maxEntries > 65535 || maxBytes < 0 || maxBytes > 65535) {
                throw new IllegalArgumentException("metadata limits must be 0..65535, got " + maxEntries + " entries, "
                        + maxBytes + " bytes");
            }
        }
    }

    /** Normalises a null agent to {@code ""} and null credentials to an empty map. */
    public Hello {
        agent = agent == null ? "" : agent;
        credentials = credentials == null ? Map.of() : Map.copyOf(credentials);
    }

    /** A HELLO that announces no metadata support. */
    public Hello(int version, int maxFrameSize, int maxInFlight, String agent, Map<String, String> credentials,
            boolean checksum) {
        this(version, maxFrameSize, maxInFlight, agent, credentials, checksum, null);
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
        if (metadata != null) {
            ObjectNode m = o.putObject("metadata");
            m.put("maxEntries", metadata.maxEntries());
            m.put("maxBytes", metadata.maxBytes());
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
        MetadataLimits metadata = null;
        JsonNode m = o.get("metadata");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) {
                throw new ProtocolException("malformed HELLO payload: 'metadata' must be an object");
            }
            metadata = new MetadataLimits(intField(m, "maxEntries", 0, 65535), intField(m, "maxBytes", 0, 65535));
        }
        return new Hello(version, maxFrameSize, maxInFlight, agent, credentials, checksum, metadata);
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
                + ", agent=" + agent + (checksum ? ", checksum=crc32c" : "")
                + (metadata == null ? "" : ", metadata=" + metadata.maxEntries() + "/" + metadata.maxBytes() + " B") + (credentials.isEmpty() ? "" : ", credentials=<redacted>") + "]";
    }
}
