package dev.tidewire.tool.load;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/**
 * The request bodies: a JSON object {@code {"caller":N,"seq":N,"pad":"tidewire..."}} padded to
 * about the requested size, the same text for every system so each carries the same bytes.
 */
public final class Payloads {
    private static final String FILL = "tidewire";

    private Payloads() {
    }

    /** A body for {@code caller} with {@code seq} 0, padded so its JSON text is about {@code bytes} long. */
    public static ObjectNode json(int caller, int bytes) {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("caller", caller).put("seq", 0L).put("pad", "");
        int base = o.toString().getBytes(StandardCharsets.UTF_8).length;
        int pad = Math.max(0, bytes - base);
        return o.put("pad", FILL.repeat(pad / FILL.length() + 1).substring(0, pad));
    }

    /** The same body as UTF-8 JSON text: what the raw systems (gRPC, the socket pool) send. */
    public static byte[] bytes(int caller, int bytes) {
        return json(caller, bytes).toString().getBytes(StandardCharsets.UTF_8);
    }
}
