package dev.tidewire.protocol;

import dev.tidewire.Metadata;
import dev.tidewire.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
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
 * <p>The extended form ({@link FrameType#REQUEST_EXT}, sent only to a server whose HELLO announces
 * {@code metadata}) adds the caller's remaining time and the call's metadata between op and body:
 *
 * <pre>
 *  +-------+------+--------------+------------------+--------------------+------+
 *  | opLen |  op  | timeout (u32,| metadataLength   | metadata entries   | body |
 *  | (u8)  |      | ms; 0 = none)| (u16, bytes)     | (metadataLength B) |      |
 *  +-------+------+--------------+------------------+--------------------+------+
 *  entry: keyLen (u8, 1..255) | key (ASCII) | valueLen (u16) | value
 * </pre>
 *
 * @param op            the operation name
 * @param body          the JSON body bytes
 * @param metadata      the call's metadata (empty for a plain REQUEST)
 * @param timeoutMillis the caller's remaining time when the request was written, in milliseconds
 *                      rounded up; 0 when the request carries none (always for a plain REQUEST)
 */
public record RequestPayload(String op, byte[] body, Metadata metadata, long timeoutMillis) {

    /** Bytes the extended form adds after the op, besides the metadata entries: timeout and metadata length. */
    public static final int EXTENSION_LENGTH = 6;
    /** Largest timeout the extended form can carry, in milliseconds (u32; about 49.7 days). */
    public static final long MAX_TIMEOUT_MILLIS = 0xFFFF_FFFFL;

    /** A plain REQUEST's payload: no metadata, no timeout. */
    public RequestPayload(String op, byte[] body) {
        this(op, body, Metadata.EMPTY, 0);
    }

    /** Normalises null metadata to {@link Metadata#EMPTY}. */
    public RequestPayload {
        metadata = metadata == null ? Metadata.EMPTY : metadata;
    }

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

    /** Payload length of the extended form. */
    public static int extendedLength(byte[] opBytes, Metadata metadata, byte[] body) {
        return 1 + opBytes.length + EXTENSION_LENGTH + metadata.encodedLength() + body.length;
    }

    /**
     * The timeout field for a call with {@code remainingNanos} left: milliseconds rounded up, at
     * least 1; 0 (none) when the budget is longer than the field can carry.
     */
    public static long timeoutField(long remainingNanos) {
        long millis = Math.max(1, (remainingNanos + 999_999) / 1_000_000);
        return millis > MAX_TIMEOUT_MILLIS ? 0 : millis;
    }

    /** Writes the extended payload (no header) into {@code out}. */
    public static void writeExtended(ByteBuffer out, byte[] opBytes, long timeoutMillis, Metadata metadata, byte[] body) {
        out.put((byte) opBytes.length);
        out.put(opBytes);
        out.putInt((int) timeoutMillis);
        out.putShort((short) metadata.encodedLength());
        for (int i = 0; i < metadata.size(); i++) {
            String key = metadata.key(i);
            byte[] value = metadata.valueBytes(i);
            out.put((byte) key.length());
            for (int j = 0; j < key.length(); j++) {
                out.put((byte) key.charAt(j));
            }
            out.putShort((short) value.length);
            out.put(value);
        }
        out.put(body);
    }

    /** Encodes an extended payload as a fresh array. */
    public static byte[] encodeExtended(String op, long timeoutMillis, Metadata metadata, byte[] body) {
        byte[] opBytes = opBytes(op);
        ByteBuffer out = ByteBuffer.allocate(extendedLength(opBytes, metadata, body));
        writeExtended(out, opBytes, timeoutMillis, metadata, body);
        return out.array();
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
        String op = utf8(payload, 1, opLen, "op");
        return new RequestPayload(op, Arrays.copyOfRange(payload, 1 + opLen, payload.length));
    }

    /**
     * Splits an extended payload ({@link FrameType#REQUEST_EXT}) into op, timeout, metadata and
     * body, checking the metadata against the limits this side announced.
     *
     * @throws ProtocolException if the op prefix is malformed, the fields run past the payload, an
     *                           entry is malformed (empty or invalid key, text value not UTF-8,
     *                           lengths not adding up) or the metadata exceeds the limits
     */
    public static RequestPayload decodeExtended(byte[] payload, int maxEntries, int maxBytes) {
        int opLen = payload.length == 0 ? 0 : payload[0] & 0xFF;
        if (opLen == 0 || 1 + opLen + EXTENSION_LENGTH > payload.length) {
            throw new ProtocolException("malformed REQUEST_EXT payload: op length " + opLen + " in a payload of "
                    + payload.length + " bytes (needs op, timeout and metadata length)");
        }
        String op = utf8(payload, 1, opLen, "op");
        ByteBuffer in = ByteBuffer.wrap(payload, 1 + opLen, payload.length - 1 - opLen);
        long timeoutMillis = in.getInt() & 0xFFFF_FFFFL;
        int mdLength = in.getShort() & 0xFFFF;
        if (mdLength > in.remaining()) {
            throw new ProtocolException("malformed REQUEST_EXT payload: metadata length " + mdLength + " runs past the"
                    + " payload (" + in.remaining() + " bytes left)");
        }
        if (mdLength > maxBytes) {
            throw new ProtocolException("REQUEST_EXT metadata of " + mdLength + " bytes exceeds the announced limit of "
                    + maxBytes);
        }
        int end = in.position() + mdLength;
        Metadata metadata = Metadata.EMPTY;
        if (mdLength > 0) {
            String[] keys = new String[4];
            byte[][] values = new byte[4][];
            int count = 0;
            while (in.position() < end) {
                if (count == maxEntries) {
                    throw new ProtocolException("REQUEST_EXT metadata has more than the announced limit of "
                            + maxEntries + " entries");
                }
                int keyLen = in.get() & 0xFF;
                if (keyLen == 0 || in.position() + keyLen + 2 > end) {
                    throw new ProtocolException("malformed REQUEST_EXT metadata: key length " + keyLen
                            + " runs past the metadata");
                }
                String key = new String(payload, in.position(), keyLen, StandardCharsets.ISO_8859_1);
                if (!Metadata.isValidKey(key)) {
                    throw new ProtocolException("malformed REQUEST_EXT metadata: invalid key '" + key + "'");
                }
                in.position(in.position() + keyLen);
                int valueLen = in.getShort() & 0xFFFF;
                if (in.position() + valueLen > end) {
                    throw new ProtocolException("malformed REQUEST_EXT metadata: value of '" + key + "' ("
                            + valueLen + " bytes) runs past the metadata");
                }
                if (!key.endsWith(Metadata.BINARY_SUFFIX)) {
                    utf8(payload, in.position(), valueLen, "metadata value of '" + key + "'");
                }
                byte[] value = Arrays.copyOfRange(payload, in.position(), in.position() + valueLen);
                in.position(in.position() + valueLen);
                if (count == keys.length) {
                    keys = Arrays.copyOf(keys, 2 * count);
                    values = Arrays.copyOf(values, 2 * count);
                }
                keys[count] = key;
                values[count++] = value;
            }
            metadata = Metadata.decoded(count == keys.length ? keys : Arrays.copyOf(keys, count),
                    count == values.length ? values : Arrays.copyOf(values, count));
        }
        return new RequestPayload(op, Arrays.copyOfRange(payload, end, payload.length), metadata, timeoutMillis);
    }

    /** Decodes strictly: bytes that are not valid UTF-8 are a malformed request. ASCII costs one pass. */
    private static String utf8(byte[] b, int from, int length, String what) {
        boolean ascii = true;
        for (int i = from; i < from + length; i++) {
            if (b[i] < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(b, from, length, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b, from, length)).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException("malformed REQUEST payload: the " + what + " is not valid UTF-8");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestPayload r && r.op.equals(op) && Arrays.equals(r.body, body)
                && r.metadata.equals(metadata) && r.timeoutMillis == timeoutMillis;
    }

    @Override
    public int hashCode() {
        return (op.hashCode() * 31 + Arrays.hashCode(body)) * 31 + metadata.hashCode() + Long.hashCode(timeoutMillis);
    }

    @Override
    public String toString() {
        return "RequestPayload[op=" + op + ", body=" + body.length + " B"
                + (metadata.isEmpty() ? "" : ", " + metadata) + (timeoutMillis == 0 ? "" : ", timeout=" + timeoutMillis + " ms") + "]";
    }
}
