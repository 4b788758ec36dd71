package dev.tidewire.testing;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.tidewire.protocol.Protocol;
import java.nio.charset.StandardCharsets;

/**
 * HELLO payloads for fuzz tests, built from fuzzer input: usually a JSON object with the HELLO
 * fields of docs/protocol.md holding values near and outside their ranges, of the right or a wrong
 * JSON type, in any order, some missing, with or without credentials; sometimes raw bytes. This
 * lets the fuzzer reach the checks behind the JSON parser without having to learn JSON first.
 */
public final class FuzzHello {
    private static final String[] FIELDS = {"version", "maxFrameSize", "maxInFlight", "agent", "credentials", "x"};
    private static final long[] NUMBERS = {0, 1, 2, -1, 255, 256, Protocol.MIN_MAX_FRAME_SIZE - 1,
            Protocol.MIN_MAX_FRAME_SIZE, Protocol.HANDSHAKE_MAX_FRAME_SIZE, Protocol.DEFAULT_MAX_FRAME_SIZE,
            Protocol.MAX_MAX_FRAME_SIZE, Protocol.MAX_MAX_FRAME_SIZE + 1L, Integer.MAX_VALUE, Integer.MAX_VALUE + 1L,
            Integer.MIN_VALUE, Long.MAX_VALUE};

    private FuzzHello() {
    }

    /** A HELLO payload: a valid one when {@code valid} (fuzzed within the ranges), else anything. */
    public static byte[] payload(FuzzedDataProvider data, boolean valid) {
        if (valid) {
            return ("{\"version\":" + Protocol.VERSION + ",\"maxFrameSize\":"
                    + data.consumeInt(Protocol.MIN_MAX_FRAME_SIZE, 1 << 20) + ",\"maxInFlight\":"
                    + data.consumeInt(0, 2048) + ",\"agent\":" + string(data) + "}").getBytes(StandardCharsets.UTF_8);
        }
        if (data.consumeInt(0, 7) == 0) {
            return data.consumeBytes(data.consumeInt(0, 256));
        }
        StringBuilder json = new StringBuilder("{");
        int fields = data.consumeInt(0, 7);
        for (int i = 0; i < fields; i++) {
            if (i > 0) {
                json.append(',');
            }
            json.append('"').append(FIELDS[data.consumeInt(0, FIELDS.length - 1)]).append("\":").append(value(data, 0));
        }
        return json.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String value(FuzzedDataProvider data, int depth) {
        return switch (data.consumeInt(0, 7)) {
            case 0, 1 -> Long.toString(NUMBERS[data.consumeInt(0, NUMBERS.length - 1)]);
            case 2 -> Long.toString(data.consumeLong());
            case 3 -> string(data);
            case 4 -> data.pickValue(new String[] {"null", "true", "1.5", "1e3", "[]", "\"1\"", "100000000000000000000"});
            case 5 -> depth > 2 ? "{}" : "{\"token\":" + value(data, depth + 1) + ",\"type\":" + string(data) + "}";
            case 6 -> depth > 2 ? "[]" : "[" + value(data, depth + 1) + "]";
            default -> Integer.toString(data.consumeInt());
        };
    }

    private static String string(FuzzedDataProvider data) {
        StringBuilder s = new StringBuilder("\"");
        for (char c : data.consumeString(data.consumeInt(0, 32)).toCharArray()) {
            if (c == '"' || c == '\\') {
                s.append('\\').append(c);
            } else if (c < 0x20) {
                s.append(String.format("\\u%04x", (int) c));
            } else {
                s.append(c);
            }
        }
        return s.append('"').toString();
    }
}
