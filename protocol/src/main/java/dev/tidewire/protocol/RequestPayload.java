package dev.tidewire.protocol;

import dev.tidewire.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The REQUEST payload: the op name, length-prefixed, then the JSON body. The op is binary so a
 * server can dispatch without parsing JSON, and the body passes through untouched.
 *
 * <pre>
 *  +--------+----------------------+-------------------------------+
 *  | opLen  | op (opLen bytes,     | body (rest of payload: UTF-8  |
 *  | (u8)   |  UTF-8, 1..255)      |  JSON text; empty means null) |
 *  +--------+----------------------+-------------------------------+
 * </pre>
 *
 * @param op   the operation name
 * @param body the JSON body bytes
 */
public record RequestPayload(String op, byte[] body) {

    /** The op's UTF-8 bytes, checked for the 1..255 byte rule. */
    public static byte[] opBytes(String op) {
        if (op == null || op.isEmpty()) {
            throw new IllegalArgumentException("op must not be empty");
        }
        byte[] b = op.getBytes(StandardCharsets.UTF_8);
        if (b.length > Protocol.MAX_OP_LENGTH) {
            throw new IllegalArgumentException("op is " + b.length + " bytes in UTF-8, over the limit of "
                    + Protocol.MAX_OP_LENGTH + ": " + op.substring(0, op.offsetByCodePoints(0, 32)) + "...");
        }
        return b;
    }

    /** Payload length for an op and body. */
    public static int length(byte[] opBytes, byte[] body) {
        return 1 + opBytes.length + body.length;
    }

    /** Writes the payload (no header) into {@code out}. */
    public static void write(ByteBuffer out, byte[] opBytes, byte[] body) {
        out.put((byte) opBytes.length);
        out.put(opBytes);
        out.put(body);
    }

    /** Encodes a payload as a fresh array. */
    public static byte[] encode(String op, byte[] body) {
        byte[] opBytes = opBytes(op);
        ByteBuffer out = ByteBuffer.allocate(length(opBytes, body));
        write(out, opBytes, body);
        return out.array();
    }

    /**
     * Splits a payload into op and body.
     *
     * @throws ProtocolException if the op length is 0 or runs past the payload
     */
    public static RequestPayload decode(byte[] payload) {
        if (payload.length < 2) {
            throw new ProtocolException("malformed REQUEST payload: " + payload.length + " bytes, needs an op");
        }
        int opLen = payload[0] & 0xFF;
        if (opLen == 0 || 1 + opLen > payload.length) {
            throw new ProtocolException("malformed REQUEST payload: op length " + opLen + " in a payload of "
                    + payload.length + " bytes");
        }
        String op = new String(payload, 1, opLen, StandardCharsets.UTF_8);
        return new RequestPayload(op, Arrays.copyOfRange(payload, 1 + opLen, payload.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestPayload r && r.op.equals(op) && Arrays.equals(r.body, body);
    }

    @Override
    public int hashCode() {
        return op.hashCode() * 31 + Arrays.hashCode(body);
    }

    @Override
    public String toString() {
        return "RequestPayload[op=" + op + ", body=" + body.length + " B]";
    }
}
